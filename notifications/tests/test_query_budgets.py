"""Query budget of one outbox delivery (issue 16): claim, relevance check, send over real HTTP
(the fake WhatsApp gateway; anymail's test ESP), fenced write-back. Counted the way
production runs it (transactional test: the claim's `atomic` is BEGIN/COMMIT)."""

import pytest

from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.services import Outcome, outbox_deliver
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
