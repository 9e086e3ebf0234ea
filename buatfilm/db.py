"""Database helpers that are not business rules."""

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


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


@dataclass(frozen=True)
class _Slot:
    name: str


class QueryTemplate(Generic[M]):
    """A queryset compiled to SQL once per process and database alias, then run with new
    values.

    Django compiles a QuerySet to SQL each time it is evaluated; for a hot path's multi-table
    read that costs more than running it (the webhook's locked order read: ~0.4 ms of Python
    for a statement PostgreSQL, prepared, runs in less). `build(**values)` returns the
    queryset; the first `first(**values)` per database compiles it with unique sentinel
    values, and every call then only puts its values where the sentinels were and runs the
    SQL with `Model.objects.raw` (annotations come back as attributes, as with the queryset;
    `select_related` does not: read only the model's own row). Every value must reach the
    SQL as a parameter (a sentinel compiled into the text is refused)."""

    def __init__(self, build: Callable[..., QuerySet[M]]) -> None:
        self._build = build
        self._compiled: dict[str, tuple[type[M], str, tuple[object, ...]]] = {}

    def _compile(self, names: Sequence[str], using: str) -> tuple[type[M], str, tuple[object, ...]]:
        sentinels = {name: f"__query_template_{name}_{uuid.uuid4().hex}__" for name in names}
        queryset = self._build(**sentinels)
        sql, params = queryset.query.get_compiler(using).as_sql()
        slots = {sentinel: _Slot(name) for name, sentinel in sentinels.items()}
        template = tuple(
            slots.get(param, param) if isinstance(param, str) else param for param in params
        )
        missing = set(names) - {slot.name for slot in template if isinstance(slot, _Slot)}
        if missing or any(sentinel in sql for sentinel in sentinels.values()):
            raise ValueError(f"QueryTemplate: {sorted(missing)} not passed as parameters")
        return queryset.model, sql, template

    def first(self, using: str = DEFAULT_DB_ALIAS, **values: object) -> M | None:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(sorted(values), using)
        model, sql, template = compiled
        try:
            params = [values[p.name] if isinstance(p, _Slot) else p for p in template]
        except KeyError as exc:
            raise TypeError(f"QueryTemplate: missing value {exc}") from None
        return next(iter(model._default_manager.using(using).raw(sql, params)), None)
