"""Staff cancel (`supportdesk.cancel_order`): the customer's own cancel service run for a
customer by support, audited with the staff user; never for a paid order."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import order_in
from payments.attempts import attempt_start
from payments.tests.factories import PaymentAttemptFactory
from supportdesk.models import AuditLog
from supportdesk.tests.conftest import make_staff

pytestmark = pytest.mark.django_db
S = OrderStatus
STAFF_IP = "10.1.2.3"


def cancel_url(order: Order) -> str:
    return reverse("admin:orders_order_cancel", args=[order.order_id])


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def live_order(midtrans_sim) -> tuple[Order, str]:
    order = OrderFactory(status=S.CREATED)
    attempt = attempt_start(order_id=order.order_id)
    midtrans_sim.simulator.customer_action(attempt.midtrans_order_id, "choose")
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
    return order, attempt.midtrans_order_id


@pytest.mark.parametrize("who", ["superuser", "support_user"])
def test_staff_cancel_closes_midtrans_first_then_fails_and_audits(
    request, client, who, midtrans_sim
):
    user = request.getfixturevalue(who)
    order, midtrans_order_id = live_order(midtrans_sim)
    client.force_login(user)
    page = client.get(reverse("admin:orders_order_change", args=[order.order_id]))
    assert cancel_url(order) in page.content.decode()
    confirm = client.get(cancel_url(order))
    assert confirm.status_code == 200 and "Ya, batalkan order ini" in confirm.content.decode()
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT  # a GET changes nothing

    response = client.post(
        cancel_url(order), {"reason": "Pelanggan salah pilih paket"}, REMOTE_ADDR=STAFF_IP
    )

    assert response.status_code == 302
    tx = midtrans_sim.simulator.transaction(midtrans_order_id)
    assert tx["transaction_status"] == "cancel"
    order.refresh_from_db()
    assert order.status == S.FAILED
    change = AuditLog.objects.get(
        action="order_status_changed", entity_id=order.order_id, new_value__status="FAILED"
    )
    assert change.actor == f"staff:{user.username}"
    row = AuditLog.objects.get(action="admin_cancel", entity_id=order.order_id)
    assert (row.actor, row.ip_address) == (f"staff:{user.username}", STAFF_IP)
    assert row.old_value == {"status": "PENDING_PAYMENT"}
    assert row.new_value["status"] == "FAILED"
    assert row.new_value["reason"] == "Pelanggan salah pilih paket"
    assert row.new_value["cancelled_at_midtrans"] == [midtrans_order_id]
    # The order page's timeline says it in words, as a staff action.
    page = client.get(reverse("admin:orders_order_change", args=[order.order_id]))
    [entry] = [e for e in page.context["timeline"] if e.title.startswith("Dibatalkan oleh staf")]
    assert entry.kind == "staff" and entry.actor == f"staf {user.username}"
    assert "Alasan: Pelanggan salah pilih paket" in entry.details
    [message] = texts(response)
    assert "dibatalkan: status Gagal" in message and midtrans_order_id in message


def test_a_paid_order_cannot_be_cancelled(client, support_user):
    order = order_in(S.PAID)
    client.force_login(support_user)
    page = client.get(reverse("admin:orders_order_change", args=[order.order_id]))
    assert cancel_url(order) not in page.content.decode()
    response = client.post(cancel_url(order), {"reason": "coba"})
    assert response.status_code == 200
    assert "sudah Lunas, jadi tidak bisa dibatalkan" in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.PAID


def test_without_the_permission_there_is_no_button_and_no_cancel(client, midtrans_sim):
    order, _ = live_order(midtrans_sim)
    viewer = make_staff("erin", groups=("Support",), without=("cancel_order",))
    client.force_login(viewer)
    page = client.get(reverse("admin:orders_order_change", args=[order.order_id]))
    assert cancel_url(order) not in page.content.decode()
    assert client.post(cancel_url(order), {"reason": "x"}).status_code == 403
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT


def test_midtrans_unreachable_changes_nothing_and_says_so(client, support_user, settings):
    order = order_in(S.PENDING_PAYMENT)
    PaymentAttemptFactory(order=order)  # live at Midtrans (PENDING)
    settings.MIDTRANS_API_BASE_URL = "http://127.0.0.1:9"  # closed port: refused at once
    settings.MIDTRANS_SNAP_BASE_URL = "http://127.0.0.1:9"
    settings.MIDTRANS_MAX_RETRIES = 0
    client.force_login(support_user)
    response = client.post(cancel_url(order), {"reason": "Pelanggan minta batal"})
    assert response.status_code == 200
    assert "Midtrans tidak bisa dihubungi" in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT


def test_a_reason_is_required(client, support_user):
    order = order_in(S.PENDING_PAYMENT)
    client.force_login(support_user)
    response = client.post(cancel_url(order), {"reason": "  "})
    assert response.status_code == 200
    assert "Tulis alasan pembatalan" in response.content.decode()
