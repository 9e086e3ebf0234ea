"""Issue 13 (9): the customer cancels a pending order (status page with a confirmation, and the
API). Midtrans first (cancel, or expire a Snap session never opened), a settlement that races
it wins, then FAILED through the state machine with the customer told, and a prefilled form."""

import re

import pytest

from notifications.models import NotificationOutbox, Template
from orders.models import Order, OrderStatus
from payments.cancellation import CancelNotAllowed, order_cancel
from payments.models import AttemptStatus, PaymentAttempt
from supportdesk.models import AuditLog

pytestmark = pytest.mark.django_db
S = OrderStatus


def place_order(client) -> Order:
    html = client.get("/checkout/pro/").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    response = client.post(
        "/checkout/pro/",
        {
            "name": "Budi Santoso",
            "email": "budi@example.com",
            "phone": "0812-3456-7890",
            "payment_method": "bca_va",
            "form_token": token,
        },
    )
    assert response.status_code == 303
    return Order.objects.get()


def midtrans_calls(server, action: str) -> list[str]:
    return [r["path"] for r in server.simulator.requests_log if r["path"].endswith(f"/{action}")]


def test_the_status_page_links_to_a_confirmation_before_cancelling(client, package, midtrans_sim):
    order = place_order(client)
    status_html = client.get(f"/orders/{order.order_id}/?key={order.access_key}").content.decode()
    assert "Batalkan pesanan" in status_html
    confirm = client.get(f"/orders/{order.order_id}/cancel/?key={order.access_key}")
    assert confirm.status_code == 200
    assert "Ya, batalkan pesanan" in confirm.content.decode()
    assert client.get(f"/orders/{order.order_id}/cancel/?key=wrong").status_code == 404
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT  # a GET changes nothing


def test_cancel_closes_midtrans_first_then_fails_the_order_and_prefills(
    client, package, midtrans_sim
):
    order = place_order(client)
    attempt = PaymentAttempt.objects.get(order=order)
    midtrans_sim.simulator.customer_action(attempt.midtrans_order_id, "choose")

    response = client.post(f"/orders/{order.order_id}/cancel/", {"key": order.access_key})

    assert response.status_code == 303
    assert response["Location"] == f"/checkout/pro/?from={order.order_id}&key={order.access_key}"
    assert midtrans_calls(midtrans_sim, "cancel") == [f"/v2/{attempt.midtrans_order_id}/cancel"]
    tx = midtrans_sim.simulator.transaction(attempt.midtrans_order_id)
    assert tx["transaction_status"] == "cancel"
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == S.FAILED
    assert attempt.status == AttemptStatus.FAILED
    assert AuditLog.objects.filter(
        entity_id=order.order_id, action="order_status_changed", actor="customer"
    ).exists()
    told = NotificationOutbox.objects.filter(order=order, template_name=Template.PAYMENT_FAILED)
    assert told.count() == 2  # email + WhatsApp
    form = client.get(response["Location"]).content.decode()
    assert 'value="Budi Santoso"' in form and "sudah dibatalkan" in form


def test_a_settlement_that_raced_the_cancel_wins(client, package, midtrans_sim):
    order = place_order(client)
    attempt = PaymentAttempt.objects.get(order=order)
    # Paid at Midtrans, but the webhook has not reached us yet.
    midtrans_sim.simulator.customer_action(attempt.midtrans_order_id, "pay")

    result = order_cancel(order_id=order.order_id)

    assert result.paid_meanwhile
    order.refresh_from_db()
    assert order.status == S.PAID
    assert not NotificationOutbox.objects.filter(
        order=order, template_name=Template.PAYMENT_FAILED
    ).exists()


def test_a_snap_page_never_opened_is_closed_too(client, package, midtrans_sim):
    order = place_order(client)
    attempt = PaymentAttempt.objects.get(order=order)
    order_cancel(order_id=order.order_id)
    order.refresh_from_db()
    assert order.status == S.FAILED
    assert midtrans_sim.simulator.transaction(attempt.midtrans_order_id)["transaction_status"] in (
        "cancel",
        "expire",
    )


def test_cancel_refuses_an_order_that_is_not_pending(client, package, midtrans_sim):
    order = place_order(client)
    order_cancel(order_id=order.order_id)
    with pytest.raises(CancelNotAllowed):
        order_cancel(order_id=order.order_id)


def test_midtrans_down_leaves_the_order_payable(client, package, midtrans_sim, settings):
    order = place_order(client)
    settings.MIDTRANS_MAX_RETRIES = 0
    midtrans_sim.simulator.fail_next(count=5, status=503, path_prefix="/v2/")
    response = client.post(f"/orders/{order.order_id}/cancel/", {"key": order.access_key})
    assert response.status_code == 303
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT


def test_api_cancel(client, package, midtrans_sim):
    order = place_order(client)
    url = f"/api/orders/{order.order_id}/cancel/"
    key = {"X-Order-Key": order.access_key}
    confirm = {"confirm": True}
    assert client.post(url, confirm, content_type="application/json").status_code == 404
    unconfirmed = client.post(url, {}, content_type="application/json", headers=key)
    assert unconfirmed.status_code == 400
    assert Order.objects.get().status == S.PENDING_PAYMENT
    response = client.post(url, confirm, content_type="application/json", headers=key)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == S.FAILED
    again = client.post(url, confirm, content_type="application/json", headers=key)
    assert again.status_code == 409
