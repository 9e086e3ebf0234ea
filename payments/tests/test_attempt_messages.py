"""Issue 13 (3, 4): one `payment_attempt_failed` per failed attempt (none once PAID), and one
`payment_details` per attempt when Midtrans' pending notification carries the way to pay."""

import pytest

from notifications.models import Channel, NotificationOutbox, Template
from notifications.rendering import render_message
from orders.models import OrderStatus
from orders.tests.lifecycle import order_in
from payments.models import EventSource
from payments.processing import payment_notification_process
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import midtrans_body

pytestmark = pytest.mark.django_db
S = OrderStatus


def deliver(body):
    return payment_notification_process(
        payload=body, source=EventSource.WEBHOOK, remote_ip="127.0.0.1", actor="system:webhook"
    )


def rows(order, template):
    return NotificationOutbox.objects.filter(order=order, template_name=template)


def pending_order(**attempt):
    order = order_in(S.PENDING_PAYMENT, payment_method="bni_va")
    return order, PaymentAttemptFactory(order=order, payment_method="bni_va", **attempt)


def test_a_denied_attempt_tells_the_customer_once_per_channel_however_often_it_arrives():
    order, attempt = pending_order()
    deliver(midtrans_body(attempt, "deny", transaction_id="tx-1"))
    deliver(midtrans_body(attempt, "deny", transaction_id="tx-1"))  # redelivery
    deliver(midtrans_body(attempt, "failure", transaction_id="tx-1"))  # another closing status
    failed = rows(order, Template.PAYMENT_ATTEMPT_FAILED)
    assert sorted(failed.values_list("channel", flat=True)) == [Channel.EMAIL, Channel.WHATSAPP]
    assert all(row.valid_order_statuses == [S.PENDING_PAYMENT] for row in failed)
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    whatsapp = failed.get(channel=Channel.WHATSAPP)
    text = render_message(
        template_name=whatsapp.template_name, channel=Channel.WHATSAPP, context=whatsapp.context
    ).text
    assert "belum berhasil" in text and whatsapp.context["status_url"] in text
    assert "ditolak" in whatsapp.context["reason"]


def test_each_attempt_gets_its_own_failure_message():
    order, first = pending_order(sequence=1)
    deliver(midtrans_body(first, "deny"))
    second = PaymentAttemptFactory(order=order, sequence=2, payment_method="gopay")
    deliver(midtrans_body(second, "expire", payment_type="gopay"))
    assert rows(order, Template.PAYMENT_ATTEMPT_FAILED).count() == 4


def test_no_failure_message_once_the_order_is_paid():
    order, first = pending_order(sequence=1)
    second = PaymentAttemptFactory(order=order, sequence=2)
    deliver(midtrans_body(second, "settlement"))
    deliver(midtrans_body(first, "deny"))  # a late deny of the older attempt
    order.refresh_from_db()
    assert order.status == S.PAID
    assert not rows(order, Template.PAYMENT_ATTEMPT_FAILED).exists()


def test_the_pending_notification_with_a_va_number_sends_the_details_once():
    order, attempt = pending_order()
    va = {"va_numbers": [{"bank": "bni", "va_number": "9881234567"}]}
    deliver(midtrans_body(attempt, "pending", transaction_id="tx-9", **va))
    deliver(midtrans_body(attempt, "pending", transaction_id="tx-9", **va))
    details = rows(order, Template.PAYMENT_DETAILS)
    assert details.count() == 2
    email = details.get(channel=Channel.EMAIL)
    message = render_message(
        template_name=email.template_name, channel=Channel.EMAIL, context=email.context
    )
    assert "9881234567" in message.text and "9881234567" in message.html
    assert "Rp " in message.subject and "WIB" in message.text
    assert email.context["status_url"] in message.text


def test_a_pending_notification_without_details_sends_nothing():
    order, attempt = pending_order()
    deliver(midtrans_body(attempt, "pending", payment_type="gopay"))
    assert not rows(order, Template.PAYMENT_DETAILS).exists()
