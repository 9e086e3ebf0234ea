"""Query budget of one outbox delivery (issue 16): claim, relevance check, send over real HTTP
(the fake WhatsApp gateway; anymail's test ESP), fenced write-back. Counted the way
production runs it (transactional test: the claim's `atomic` is BEGIN/COMMIT)."""

import pytest

from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.services import Outcome, outbox_deliver, outbox_dispatch_due
from notifications.tests.conftest import make_order
from orders.messages import outbox_enqueue_for_order

# PostgreSQL: the claim there is one SELECT ... FOR UPDATE SKIP LOCKED; SQLite, which has no
# SKIP LOCKED, claims row by row (more statements, and not how production runs).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

DELIVERY_BUDGET = 6


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.WHATSAPP])
def test_one_delivery_within_its_budget(
    channel, gateway, anymail_backend, django_assert_max_num_queries
):
    order = make_order()
    (row,) = outbox_enqueue_for_order(
        order=order, template=Template.PAYMENT_INSTRUCTION, channels=[channel]
    )

    with django_assert_max_num_queries(DELIVERY_BUDGET):
        assert outbox_deliver(outbox_id=row.pk) == Outcome.SENT

    assert NotificationOutbox.objects.get(pk=row.pk).status == OutboxStatus.SENT
    assert len(gateway.messages if channel == Channel.WHATSAPP else anymail_backend) == 1


@pytest.mark.parametrize("orders", [1, 4])
def test_a_backlog_gone_irrelevant_is_cancelled_by_the_claim(orders, django_assert_num_queries):
    # Instructions still queued when their orders were paid (a worker outage): the claim that
    # finds them cancels them in one UPDATE, so the cost does not grow with their number.
    from django.utils import timezone

    from orders.models import Order, OrderStatus

    for _ in range(orders):
        outbox_enqueue_for_order(order=make_order(), template=Template.PAYMENT_INSTRUCTION)
    Order.objects.update(status=OrderStatus.PAID, paid_at=timezone.now())

    # One claim (BEGIN, SELECT … FOR UPDATE, UPDATE cancel, COMMIT: the rows are never
    # leased) and the claim that finds nothing more (BEGIN, SELECT, COMMIT).
    with django_assert_num_queries(7):
        counts = outbox_dispatch_due(limit=50)

    assert counts[Outcome.CANCELLED] == 2 * orders and counts[Outcome.SENT] == 0
    rows = NotificationOutbox.objects.filter(template_name=Template.PAYMENT_INSTRUCTION)
    assert {row.status for row in rows} == {OutboxStatus.CANCELLED}
    assert all("PAID" in row.last_error for row in rows)
    assert all(row.attempt_count == 0 for row in rows)  # never attempted


def test_after_cancelling_a_claim_reads_further_so_batches_stay_full(
    settings, gateway, anymail_backend
):
    """A backlog where every other order was paid meanwhile: half the due rows are to be
    cancelled. Each claim after one that cancelled rows reads that many more, so the backlog
    takes fewer claims than rows / batch, and no claim leases more than a batch."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from orders.models import Order, OrderStatus

    settings.OUTBOX_CLAIM_BATCH = 4
    settings.OUTBOX_SEND_CONCURRENCY = 1
    paid = []
    for n in range(12):
        order = make_order()
        outbox_enqueue_for_order(order=order, template=Template.PAYMENT_INSTRUCTION)
        if n % 2 == 0:
            paid.append(order.pk)
    Order.objects.filter(pk__in=paid).update(status=OrderStatus.PAID, paid_at=timezone.now())

    with CaptureQueriesContext(connection) as queries:
        counts = outbox_dispatch_due(limit=100)

    assert (counts[Outcome.SENT], counts[Outcome.CANCELLED]) == (12, 12)
    sql = [q["sql"] for q in queries.captured_queries]
    claims = [q for q in sql if "SKIP LOCKED" in q]
    leases = [q for q in sql if q.startswith("UPDATE") and "'SENDING'" in q.split("WHERE")[0]]
    leased = [len(re.search(r"IN \(([^)]*)\)", q).group(1).split(",")) for q in leases]
    assert max(leased) <= 4
    # 24 rows / 4 per claim would be 6 claims (of 2 leases each) + 1 empty one.
    assert len(claims) <= 5, (len(claims), leased)
