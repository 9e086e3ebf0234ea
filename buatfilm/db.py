"""Database helpers that are not business rules."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def serial_plan() -> Iterator[None]:
    """A transaction whose queries get no parallel workers (PostgreSQL: `SET LOCAL
    max_parallel_workers_per_gather = 0`; elsewhere just the transaction).

    For a scheduled selection of a small, bounded set from a big table: PostgreSQL costs a
    bitmap heap scan as if the rows were scattered (it ignores the index's correlation) and
    then picks a parallel plan whose worker start-up takes longer than the whole serial query
    (bench-scale: the reconcile selection, 28 ms parallel, 5 ms serial at 1M orders). Inside
    an outer transaction the setting lasts until that one ends."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield
