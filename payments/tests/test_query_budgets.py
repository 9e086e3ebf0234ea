"""Query budgets of the notification pipeline (issue 16): how many SQL statements one webhook
costs, counted the way production runs them. The tests are transactional, so each request's
outermost `atomic` is a real BEGIN/COMMIT (which Django does not log as a query) rather than
the SAVEPOINT pair a TestCase-wrapped test would add. Budgets are met by not reading twice and
not taking savepoints, never by caching across requests."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.tests.factories import customer_account
from notifications.models import NotificationOutbox, Template
from orders.models import OrderStatus
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import midtrans_body, post_notification

pytestmark = pytest.mark.django_db(transaction=True)

SETTLEMENT_BUDGET = 15
DUPLICATE_BUDGET = 5
PENDING_BUDGET = 8


def notify(client, body, outcome: str) -> None:
    response = post_notification(client, body)
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == outcome


@pytest.mark.parametrize("returning_customer", [False, True])
def test_a_settlement_pays_within_its_budget(
    client, django_assert_max_num_queries, returning_customer
):
    attempt = PaymentAttemptFactory()
    if returning_customer:
        customer_account(email=attempt.order.customer_email)

    with django_assert_max_num_queries(SETTLEMENT_BUDGET):
        notify(client, midtrans_body(attempt, "settlement"), "paid")

    attempt.order.refresh_from_db()
    assert attempt.order.status == OrderStatus.PAID
    success = NotificationOutbox.objects.filter(template_name=Template.PAYMENT_SUCCESS_ACCESS)
    assert success.count() == 2
    assert all("login_url" in row.context for row in success)


def test_a_settlement_writes_its_audit_rows_in_one_statement(client):
    from supportdesk.models import AuditLog

    attempt = PaymentAttemptFactory()

    with CaptureQueriesContext(connection) as queries:
        notify(client, midtrans_body(attempt, "settlement"), "paid")

    audit_inserts = [q for q in queries.captured_queries if '"supportdesk_auditlog"' in q["sql"]]
    assert len(audit_inserts) == 1, audit_inserts
    actions = AuditLog.objects.order_by("pk").values_list("action", flat=True)
    assert list(actions) == ["order_status_changed", "entitlement_granted"]


def test_a_duplicate_settlement_costs_almost_nothing(client, django_assert_max_num_queries):
    attempt = PaymentAttemptFactory()
    body = midtrans_body(attempt, "settlement")
    notify(client, body, "paid")

    with django_assert_max_num_queries(DUPLICATE_BUDGET):
        notify(client, body, "duplicate")


def test_a_pending_with_payment_details_within_its_budget(client, django_assert_max_num_queries):
    attempt = PaymentAttemptFactory(order__status=OrderStatus.PENDING_PAYMENT)
    body = midtrans_body(
        attempt, "pending", va_numbers=[{"bank": "bca", "va_number": "12345678901"}]
    )

    with django_assert_max_num_queries(PENDING_BUDGET):
        notify(client, body, "pending_recorded")

    details = NotificationOutbox.objects.filter(template_name=Template.PAYMENT_DETAILS)
    assert [row.context["payment"]["va_number"] for row in details] == ["12345678901"] * 2


@pytest.mark.parametrize("returning_customer", [False, True])
def test_a_settlement_finds_or_creates_the_account_in_one_statement(client, returning_customer):
    """One upsert (INSERT … ON CONFLICT … RETURNING id) whether the buyer is new or returning:
    no SELECT first. A returning buyer's course opens on the account they already have."""
    from courses.models import Entitlement

    attempt = PaymentAttemptFactory()
    existing = customer_account(email=attempt.order.customer_email) if returning_customer else None

    with CaptureQueriesContext(connection) as queries:
        notify(client, midtrans_body(attempt, "settlement"), "paid")

    account = [q["sql"] for q in queries.captured_queries if '"auth_user"' in q["sql"]]
    assert len(account) == 1 and account[0].startswith('INSERT INTO "auth_user"'), account
    assert "ON CONFLICT" in account[0]
    entitlement = Entitlement.objects.get(order=attempt.order)
    if existing is not None:
        assert entitlement.user_id == existing.pk


@pytest.mark.parametrize("status", ["settlement", "pending"])
def test_the_event_is_written_once_with_its_outcome(client, status):
    """PostgreSQL: the locked read draws the event's id, so the event is inserted last with
    its outcome (one INSERT, no UPDATE after), and the transition's audit row already names
    it. SQLite has no sequence to draw from: there the event is inserted first."""
    from payments.models import PaymentEvent
    from supportdesk.models import AuditLog

    attempt = PaymentAttemptFactory(order__status=OrderStatus.PENDING_PAYMENT)
    outcome = "paid" if status == "settlement" else "pending_recorded"

    with CaptureQueriesContext(connection) as queries:
        notify(client, midtrans_body(attempt, status), outcome)

    writes = [
        q["sql"].split(" ", 1)[0]
        for q in queries.captured_queries
        if '"payments_paymentevent"' in q["sql"].split(" WHERE ")[0]
        and q["sql"].startswith(("INSERT", "UPDATE"))
    ]
    expected = ["INSERT"] if connection.vendor == "postgresql" else ["INSERT", "UPDATE"]
    assert writes == expected
    event = PaymentEvent.objects.get(attempt=attempt)
    assert event.outcome == outcome
    if status == "settlement":
        changed = AuditLog.objects.get(action="order_status_changed", entity_id=attempt.order_id)
        assert changed.new_value["payment_event"] == event.pk
