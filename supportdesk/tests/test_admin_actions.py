"""The two support actions: reconcile with Midtrans now (against the real simulator over HTTP)
and resend a notification. Each checks its permission, runs the same service as the scheduler
or the outbox, and leaves an audit row naming the staff member and their IP."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from courses.models import Entitlement
from notifications.models import Channel, NotificationOutbox, Template
from notifications.services import ResendNotAllowed, ops_alert_enqueue
from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import order_in
from payments.attempts import attempt_start
from payments.tests.factories import PaymentAttemptFactory
from supportdesk.models import AuditLog
from supportdesk.services import (
    SupportPermissionDenied,
    support_reconcile_order,
    support_resend_notification,
)

pytestmark = pytest.mark.django_db
S = OrderStatus
STAFF_IP = "203.0.113.9"


def reconcile_url(order: Order) -> str:
    return reverse("admin:orders_order_reconcile", args=[order.order_id])


def resend_url(order: Order) -> str:
    return reverse("admin:orders_order_resend", args=[order.order_id])


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def sim(midtrans_sim):
    # Lose every webhook (nothing listens on port 9): only reconciliation can learn the truth.
    midtrans_sim.simulator.notification_url = "http://127.0.0.1:9/payments/midtrans/notification/"
    return midtrans_sim.simulator


def paid_at_midtrans_but_webhook_lost(sim) -> Order:
    order = OrderFactory(status=S.CREATED)
    attempt = attempt_start(order_id=order.order_id)
    sim.customer_action(attempt.midtrans_order_id, "pay")
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    return order


# --- Reconcile --------------------------------------------------------------------------------


def test_reconcile_button_applies_a_lost_settlement_and_audits_the_staff_member(
    client, support_user, sim
):
    order = paid_at_midtrans_but_webhook_lost(sim)
    client.force_login(support_user)
    response = client.post(reconcile_url(order), REMOTE_ADDR=STAFF_IP)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orders_order_change", args=[order.order_id])
    order.refresh_from_db()
    assert order.status == S.PAID
    assert Entitlement.objects.filter(order=order).count() == 1
    [message] = texts(response)
    # In words, with what to do next; no internal codes.
    assert "status berubah dari Menunggu pembayaran menjadi Lunas" in message
    assert "Lunas: akses diberikan" in message and "Langkah berikut:" in message
    assert "PENDING_PAYMENT" not in message and "paid" not in message
    row = AuditLog.objects.get(action="admin_reconcile", entity_id=order.order_id)
    assert row.actor == "staff:alice"
    assert row.ip_address == STAFF_IP
    assert row.old_value == {"status": "PENDING_PAYMENT"}
    assert row.new_value["status"] == "PAID"
    assert row.new_value["new_events"] >= 1
    # The status change itself went through the state machine, in the staff member's name.
    change = AuditLog.objects.get(
        action="order_status_changed", entity_id=order.order_id, new_value__status="PAID"
    )
    assert change.actor == "staff:alice"
    # Asking again changes nothing and says so.
    again = client.post(reconcile_url(order), REMOTE_ADDR=STAFF_IP)
    again_message = texts(again)[-1]
    assert "tidak ada perubahan, status tetap Lunas" in again_message
    assert "Sudah tercatat sebelumnya (duplikat)" in again_message
    assert "duplicate" not in again_message and "PAID" not in again_message
    assert Entitlement.objects.filter(order=order).count() == 1


def test_reconcile_action_on_the_changelist_handles_several_orders(client, support_user, sim):
    lost = paid_at_midtrans_but_webhook_lost(sim)
    untouched = OrderFactory(status=S.CREATED)  # never reached Midtrans
    client.force_login(support_user)
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {
            "action": "reconcile_with_midtrans",
            "_selected_action": [lost.order_id, untouched.order_id],
            "index": "0",
        },
        REMOTE_ADDR=STAFF_IP,
    )
    assert response.status_code == 302
    lost.refresh_from_db()
    untouched.refresh_from_db()
    assert (lost.status, untouched.status) == (S.PAID, S.CREATED)
    messages = texts(response)
    assert any(lost.order_id in m and "menjadi Lunas" in m for m in messages)
    assert any(untouched.order_id in m and "tidak ada perubahan" in m for m in messages)
    assert AuditLog.objects.filter(action="admin_reconcile", actor="staff:alice").count() == 2


def test_reconcile_with_midtrans_unreachable_reports_and_changes_nothing(
    client, support_user, settings
):
    settings.MIDTRANS_API_BASE_URL = "http://127.0.0.1:9"
    settings.MIDTRANS_SNAP_BASE_URL = "http://127.0.0.1:9"
    settings.MIDTRANS_MAX_RETRIES = 0
    order = order_in(S.PENDING_PAYMENT)
    PaymentAttemptFactory(order=order)
    client.force_login(support_user)
    response = client.post(reconcile_url(order), REMOTE_ADDR=STAFF_IP)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    assert any("Midtrans tidak bisa ditanya" in m for m in texts(response))
    row = AuditLog.objects.get(action="admin_reconcile", entity_id=order.order_id)
    assert row.new_value["error"]
    assert row.ip_address == STAFF_IP


def test_reconcile_needs_its_permission_and_leaves_no_audit_row(
    client, support_without_actions, paid_order
):
    order = order_in(S.PENDING_PAYMENT)
    client.force_login(support_without_actions)
    assert client.post(reconcile_url(order)).status_code == 403
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "reconcile_with_midtrans", "_selected_action": [order.order_id], "index": "0"},
    )
    assert response.status_code in (200, 302)
    assert not AuditLog.objects.filter(action="admin_reconcile").exists()
    with pytest.raises(SupportPermissionDenied):
        support_reconcile_order(
            order_id=order.order_id, user=support_without_actions, ip_address=None
        )
    assert not AuditLog.objects.filter(action="admin_reconcile").exists()


def test_reconcile_is_post_only(client, support_user):
    order = order_in(S.PENDING_PAYMENT)
    client.force_login(support_user)
    assert client.get(reconcile_url(order)).status_code == 405
    assert not AuditLog.objects.filter(action="admin_reconcile").exists()


def test_reconcile_of_an_unknown_order_is_404(client, support_user):
    client.force_login(support_user)
    response = client.post(reverse("admin:orders_order_reconcile", args=["BF-NOPE"]))
    assert response.status_code == 404


# --- Resend -----------------------------------------------------------------------------------


def test_resend_form_lists_the_orders_automatic_messages(client, support_user, paid_order):
    ops_alert_enqueue(dedupe_key="t:1", subject="x", message="y", order=paid_order)
    client.force_login(support_user)
    response = client.get(resend_url(paid_order))
    assert response.status_code == 200
    choices = dict(response.context["form"].fields["original"].choices)
    success = NotificationOutbox.objects.filter(
        order=paid_order, resend_of__isnull=True, template_name=Template.PAYMENT_SUCCESS_ACCESS
    )
    assert set(choices) == set(success.values_list("pk", flat=True))
    assert len(choices) == 2
    html = response.content.decode()
    assert "Pembayaran berhasil + akses · WhatsApp" in html
    # The instructions are listed as unavailable, with the reason.
    unavailable = html.split('id="resend-unavailable"')[1]
    assert "Instruksi pembayaran · Email" in unavailable
    assert "hanya relevan saat order Menunggu pembayaran; order ini sekarang Lunas" in (unavailable)


def test_resend_offers_no_success_message_for_a_refunded_order(client, support_user):
    order = order_in(S.REFUNDED)
    success = NotificationOutbox.objects.get(
        order=order, channel=Channel.EMAIL, template_name=Template.PAYMENT_SUCCESS_ACCESS
    )
    client.force_login(support_user)
    response = client.get(resend_url(order))
    assert response.status_code == 200
    # Only the refund message (issue 11) is relevant for a REFUNDED order.
    offered = dict(response.context["form"].fields["original"].choices)
    refunded = NotificationOutbox.objects.filter(
        order=order, template_name=Template.ORDER_REFUNDED, resend_of=None
    )
    assert set(offered) == set(refunded.values_list("pk", flat=True)) and len(offered) == 2
    html = response.content.decode()
    assert "hanya relevan saat order Lunas; order ini sekarang Dikembalikan" in html
    response = client.post(resend_url(order), {"original": success.pk})
    assert response.status_code == 200
    assert not NotificationOutbox.objects.filter(resend_of__isnull=False).exists()
    # The changelist action and the service refuse it too, saying why.
    with pytest.raises(ResendNotAllowed, match="hanya relevan saat order Lunas"):
        support_resend_notification(original_id=success.pk, user=support_user, ip_address=None)
    assert not AuditLog.objects.filter(action="notification_resend").exists()


def test_resend_creates_a_new_row_pointing_at_the_original_and_audits(
    client, support_user, paid_order
):
    original = NotificationOutbox.objects.get(
        order=paid_order, channel=Channel.EMAIL, template_name=Template.PAYMENT_SUCCESS_ACCESS
    )
    client.force_login(support_user)
    response = client.post(resend_url(paid_order), {"original": original.pk}, REMOTE_ADDR=STAFF_IP)
    assert response.status_code == 302
    copy = NotificationOutbox.objects.get(resend_of=original)
    assert (copy.channel, copy.template_name, copy.status) == (
        Channel.EMAIL,
        Template.PAYMENT_SUCCESS_ACCESS,
        "PENDING",
    )
    assert copy.requested_by == "staff:alice"
    original.refresh_from_db()
    assert original.resend_of is None
    audit = AuditLog.objects.get(action="notification_resend")
    assert (audit.actor, audit.ip_address, audit.correlation_id) == (
        "staff:alice",
        STAFF_IP,
        paid_order.order_id,
    )
    assert any(f"#{copy.pk}" in m for m in texts(response))
    # The copy shows on the order page, next to the original.
    page = client.get(reverse("admin:orders_order_change", args=[paid_order.order_id]))
    html = page.content.decode()
    assert "staf alice" in html
    assert f"Kirim ulang dari pesan #{original.pk}" in html


def test_resend_refuses_a_message_of_another_order(client, support_user, paid_order):
    other = order_in(S.PAID)
    foreign = NotificationOutbox.objects.filter(order=other).first()
    client.force_login(support_user)
    response = client.post(resend_url(paid_order), {"original": foreign.pk})
    assert response.status_code == 200
    assert "bukan milik order ini" in response.content.decode()
    assert not NotificationOutbox.objects.filter(resend_of__isnull=False).exists()


def test_resend_without_a_choice_re_renders_with_a_message(client, support_user, paid_order):
    client.force_login(support_user)
    response = client.post(resend_url(paid_order), {})
    assert response.status_code == 200
    assert "Pilih pesan yang akan dikirim ulang." in response.content.decode()


def test_resend_needs_its_permission(client, support_without_actions, paid_order):
    original = NotificationOutbox.objects.filter(order=paid_order).first()
    client.force_login(support_without_actions)
    assert client.get(resend_url(paid_order)).status_code == 403
    assert client.post(resend_url(paid_order), {"original": original.pk}).status_code == 403
    assert not NotificationOutbox.objects.filter(resend_of__isnull=False).exists()
    assert not AuditLog.objects.filter(action="notification_resend").exists()


def test_resend_page_without_messages_says_so(client, support_user):
    order = OrderFactory(status=S.CREATED)
    client.force_login(support_user)
    response = client.get(resend_url(order))
    assert response.status_code == 200
    assert "belum punya pesan otomatis" in response.content.decode()


def test_resend_action_on_the_changelist_opens_the_form_for_one_order(
    client, support_user, paid_order
):
    other = order_in(S.PAID)
    client.force_login(support_user)
    url = reverse("admin:orders_order_changelist")
    one = client.post(
        url,
        {"action": "resend_notification", "_selected_action": [paid_order.order_id], "index": "0"},
    )
    assert one.status_code == 302 and one["Location"] == resend_url(paid_order)
    two = client.post(
        url,
        {
            "action": "resend_notification",
            "_selected_action": [paid_order.order_id, other.order_id],
            "index": "0",
        },
    )
    assert any("tepat satu order" in m for m in texts(two))


def test_outbox_admin_resends_selected_customer_messages_and_skips_ops_alerts(
    client, support_user, paid_order
):
    alert = ops_alert_enqueue(dedupe_key="t:2", subject="x", message="y", order=paid_order)
    original = NotificationOutbox.objects.get(
        order=paid_order, channel=Channel.WHATSAPP, template_name=Template.PAYMENT_SUCCESS_ACCESS
    )
    client.force_login(support_user)
    response = client.post(
        reverse("admin:notifications_notificationoutbox_changelist"),
        {"action": "resend_selected", "_selected_action": [original.pk, alert.pk], "index": "0"},
        REMOTE_ADDR=STAFF_IP,
    )
    assert response.status_code == 302
    assert NotificationOutbox.objects.filter(resend_of=original).count() == 1
    assert not NotificationOutbox.objects.filter(resend_of=alert).exists()
    messages = texts(response)
    assert any(f"#{alert.pk} dilewati" in m for m in messages)
    assert AuditLog.objects.get(action="notification_resend").ip_address == STAFF_IP
