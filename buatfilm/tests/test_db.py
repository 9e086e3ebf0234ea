import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from buatfilm.db import serial_plan
from payments.selectors import orders_to_reconcile


def _workers() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_serial_plan_turns_parallel_workers_off_for_its_transaction_only():
    before = _workers()
    assert before != "0"
    with serial_plan():
        assert _workers() == "0"
    assert _workers() == before


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_reconcile_selection_runs_with_a_serial_plan():
    with CaptureQueriesContext(connection) as queries:
        orders_to_reconcile(
            now=timezone.now(),
            pending_after_minutes=15,
            recent_hours=48,
            pending_limit=10,
            recent_limit=10,
        )
    statements = [q["sql"] for q in queries.captured_queries]
    serial = statements.index("SET LOCAL max_parallel_workers_per_gather = 0")
    selects = [i for i, sql in enumerate(statements) if sql.startswith("SELECT")]
    assert len(selects) == 2 and serial < selects[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_run_five_times_on_a_connection_is_prepared():
    from orders.models import Order

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            return cursor.fetchone()[0]

    before = prepared()
    for key in range(6):  # the same statement, new values each time
        list(Order.objects.filter(order_id=f"BF-none-{key}"))
    assert prepared() == before + 1
