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


@pytest.mark.django_db
def test_a_query_template_compiles_once_and_runs_with_each_calls_values():
    from django.db.models import Exists, OuterRef
    from django.db.models.expressions import RawSQL

    from buatfilm.db import QueryTemplate
    from orders.models import Order
    from orders.tests.factories import OrderFactory
    from payments.models import PaymentAttempt
    from payments.tests.factories import PaymentAttemptFactory

    first, second = OrderFactory(), OrderFactory()
    PaymentAttemptFactory(order=second, midtrans_order_id="M-2")
    built = []

    def build(*, order_id, midtrans_order_id):
        built.append(order_id)
        return Order.objects.annotate(
            paid_via=Exists(
                PaymentAttempt.objects.filter(
                    order=OuterRef("pk"), midtrans_order_id=midtrans_order_id
                )
            )
        ).filter(order_id=order_id)

    template = QueryTemplate(build)
    one = template.first(order_id=first.order_id, midtrans_order_id="M-2")
    two = template.first(order_id=second.order_id, midtrans_order_id="M-2")
    assert (one.order_id, bool(one.paid_via)) == (first.order_id, False)
    assert (two.order_id, bool(two.paid_via)) == (second.order_id, True)
    assert template.first(order_id="BF-none", midtrans_order_id="M-2") is None
    assert len(built) == 1  # compiled once
    with pytest.raises(TypeError):
        template.first(order_id=first.order_id)

    inlined = QueryTemplate(
        # A value compiled into the SQL text (the refusal under test).
        lambda *, order_id: Order.objects.filter(pk__in=RawSQL(f"SELECT '{order_id}'", []))  # noqa: S611
    )
    with pytest.raises(ValueError, match="not passed as parameters"):
        inlined.first(order_id="x")


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_small_bulk_insert_is_a_values_list_and_a_large_one_unnest():
    """A few rows (a settlement's audit rows and messages) are cheaper as VALUES than through
    UNNEST's arrays; a batch past VALUES_MAX_ROWS keeps Django's UNNEST."""
    from buatfilm.postgresql.compiler import VALUES_MAX_ROWS
    from supportdesk.models import AuditLog

    def insert(rows: int) -> str:
        entries = [
            AuditLog(actor="test", action="note", entity_type="order", entity_id=str(i))
            for i in range(rows)
        ]
        with CaptureQueriesContext(connection) as queries:
            AuditLog.objects.bulk_create(entries)
        [sql] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
        return sql

    small, large = insert(3), insert(VALUES_MAX_ROWS + 1)
    assert "UNNEST" not in small and small.count("), (") == 2
    assert "UNNEST" in large
    assert AuditLog.objects.filter(action="note").count() == 3 + VALUES_MAX_ROWS + 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_update_template_compiles_once_and_runs_with_each_calls_values():
    """The outbox's write-back: a fenced UPDATE compiled once, then run for each row. An int
    column the backend types (attempt_count: smallint) and a datetime both reach their slots."""
    from buatfilm.db import UpdateTemplate
    from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template

    rows = [
        NotificationOutbox.objects.create(
            channel=Channel.EMAIL,
            template_name=Template.OPS_ALERT,
            recipient="ops@example.com",
            status=OutboxStatus.SENDING,
            attempt_count=n,
        )
        for n in (1, 2)
    ]
    built = []

    def build(*, pk, attempt_count, provider_message_id, now):
        built.append(pk)
        fenced = NotificationOutbox.objects.filter(
            pk=pk, status=OutboxStatus.SENDING, attempt_count=attempt_count
        )
        return fenced, {
            "status": OutboxStatus.SENT,
            "provider_message_id": provider_message_id,
            "sent_at": now,
            "locked_until": None,
            "updated_at": now,
        }

    template = UpdateTemplate(build)
    now = timezone.now()
    updated = [
        template.run(
            pk=row.pk, attempt_count=row.attempt_count, provider_message_id=f"p{n}", now=now
        )
        for n, row in enumerate(rows)
    ]
    lost = template.run(pk=rows[0].pk, attempt_count=1, provider_message_id="again", now=now)

    assert (updated, lost) == ([1, 1], 0)  # the second run of row 0 finds it SENT: fenced out
    assert len(built) == 2  # compiled once, twice over (the sentinels' places must agree)
    assert sorted(NotificationOutbox.objects.values_list("provider_message_id", "sent_at")) == [
        ("p0", now),
        ("p1", now),
    ]
    with pytest.raises(TypeError, match="missing value"):
        template.run(pk=rows[0].pk, attempt_count=1, now=now)
    with pytest.raises(TypeError, match="not a str, int or aware datetime"):
        UpdateTemplate(build).run(pk=rows[0].pk, attempt_count=1, provider_message_id=None, now=now)


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_update_template_refuses_a_value_that_is_not_a_parameter():
    from django.db.models.functions import Upper

    from buatfilm.db import UpdateTemplate
    from notifications.models import Channel, NotificationOutbox, Template

    row = NotificationOutbox.objects.create(
        channel=Channel.EMAIL, template_name=Template.OPS_ALERT, recipient="ops@example.com"
    )
    ignored = UpdateTemplate(
        lambda *, pk, note: (NotificationOutbox.objects.filter(pk=pk), {"last_error": "x"})
    )
    with pytest.raises(ValueError, match=r"\['note'\] not passed as parameters"):
        ignored.run(pk=1, note="unused")
    transformed = UpdateTemplate(  # a column set from an expression, not from a value
        lambda *, pk: (NotificationOutbox.objects.filter(pk=pk), {"last_error": Upper("recipient")})
    )
    assert transformed.run(pk=row.pk + 1) == 0
    assert transformed.run(pk=row.pk) == 1
    row.refresh_from_db()
    assert row.last_error == "OPS@EXAMPLE.COM"

    shapes = iter([{"attempt_count": 0}, {"max_attempts": 0}])
    shifting = UpdateTemplate(  # compiled twice (an int value), to two different statements
        lambda *, pk: (
            NotificationOutbox.objects.filter(pk=pk, **next(shapes)),
            {"last_error": "y"},
        )
    )
    with pytest.raises(ValueError, match="the statement changes with its values"):
        shifting.run(pk=row.pk)


@pytest.mark.django_db(transaction=True)
def test_a_query_template_builds_select_related_objects_and_keeps_the_lock_rule(
    django_assert_num_queries,
):
    """The webhook's locked read brings the order's package and course with it: the objects
    come back as the queryset would build them (converters applied: the JSON features), and a
    locking template is refused outside a transaction, as Django refuses the queryset."""
    from django.db import transaction

    from buatfilm.db import QueryTemplate
    from orders.models import Order
    from orders.tests.factories import OrderFactory

    order = OrderFactory(package__features=["Modul 1", "Sertifikat"])
    template = QueryTemplate(
        lambda *, order_id: (
            Order.objects.select_for_update(of=("self",))
            .select_related("package__course")
            .filter(order_id=order_id)
        )
    )
    with transaction.atomic(), django_assert_num_queries(1):
        found = template.first(order_id=order.order_id)
        assert found.package.features == ["Modul 1", "Sertifikat"]
        assert found.package.course.title == order.package.course.title
        assert found.expires_at == order.expires_at
    with pytest.raises(transaction.TransactionManagementError):
        template.first(order_id=order.order_id)
