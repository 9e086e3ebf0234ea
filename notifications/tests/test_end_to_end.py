"""A paid order produces exactly one success email and one success WhatsApp, however often the
PAID side effects are attempted and however often delivery runs."""

import pytest
from django.core import mail

from courses.services import access_message_contexts
from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.services import outbox_deliver, outbox_dispatch_due
from notifications.tests.conftest import make_order
from orders.messages import outbox_enqueue_for_order
from orders.models import OrderStatus
from orders.services import IllegalTransition, order_transition
from payments.tests.factories import PaymentEventFactory

pytestmark = pytest.mark.django_db

SUCCESS_SUBJECT = "✅ Pembayaran Berhasil! Akses Kursus Kamu Sudah Aktif 🎉"


def test_paid_order_gets_one_success_email_and_one_whatsapp(gateway, anymail_backend):
    order = make_order()
    attempt = order.attempts.get()
    order_transition(
        order_id=order.order_id,
        to_status=OrderStatus.PAID,
        actor="system:webhook",
        payment_event=PaymentEventFactory(attempt=attempt),
    )
    # The PAID side effects attempted again and again (duplicate webhooks, reconciliation).
    with pytest.raises(IllegalTransition):
        order_transition(
            order_id=order.order_id,
            to_status=OrderStatus.PAID,
            actor="system:reconciliation",
            payment_event=PaymentEventFactory(attempt=attempt),
        )
    order.refresh_from_db()
    for _ in range(5):
        assert (
            outbox_enqueue_for_order(
                order=order,
                template=Template.PAYMENT_SUCCESS_ACCESS,
                channel_context=access_message_contexts(order=order),
            )
            == []
        )

    rows = NotificationOutbox.objects.filter(
        order=order, template_name=Template.PAYMENT_SUCCESS_ACCESS
    )
    assert sorted(rows.values_list("channel", flat=True)) == [Channel.EMAIL, Channel.WHATSAPP]
    # Delivery runs many times too: duplicate task messages plus sweeps.
    for _ in range(3):
        for row in rows:
            outbox_deliver(outbox_id=row.pk)
        outbox_dispatch_due(limit=100)

    success_emails = [m for m in mail.outbox if m.subject == SUCCESS_SUBJECT]
    assert len(success_emails) == 1
    assert success_emails[0].to == [order.customer_email]
    success_whatsapps = [m for m in gateway.messages if "Pembayaran Berhasil" in m.text]
    assert len(success_whatsapps) == 1
    assert success_whatsapps[0].chat_id == "6281234567789@c.us"
    email_login_url = rows.get(channel=Channel.EMAIL).context["login_url"]
    whatsapp_login_url = rows.get(channel=Channel.WHATSAPP).context["login_url"]
    assert email_login_url != whatsapp_login_url  # each channel has its own single-use link
    assert email_login_url in success_emails[0].body
    assert whatsapp_login_url in success_whatsapps[0].text
    assert set(rows.values_list("status", flat=True)) == {OutboxStatus.SENT}
