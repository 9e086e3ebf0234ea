"""Issue 13 (1, 2): retry with any method (HTML and API), and dead payment numbers disappear
from the status page, the API and the reminder once their attempt failed or expired."""

import re

import pytest

from orders.messages import order_message_context
from orders.models import OrderStatus
from orders.tests.lifecycle import order_in
from payments.models import AttemptStatus, PaymentAttempt
from payments.tests.factories import PaymentAttemptFactory

pytestmark = pytest.mark.django_db
S = OrderStatus


def failed_order(package, **attempt_fields):
    order = order_in(S.PENDING_PAYMENT, package=package, payment_method="bni_va")
    PaymentAttemptFactory(
        order=order,
        sequence=1,
        status=AttemptStatus.FAILED,
        transaction_status="deny",
        payment_method="bni_va",
        va_number="98765432101",
        bank="bni",
        redirect_url="http://127.0.0.1:9/snap/dead",
        **attempt_fields,
    )
    return order


def snap_requests(server) -> list[dict]:
    return [r for r in server.simulator.requests_log if r["path"] == "/snap/v1/transactions"]


def test_status_page_offers_every_method_with_the_previous_one_preselected(client, package):
    order = failed_order(package)
    html = client.get(f"/orders/{order.order_id}/?key={order.access_key}").content.decode()
    for code in ["bca_va", "bni_va", "echannel", "gopay", "shopeepay", "dana", "other_qris"]:
        assert f'name="payment_method" value="{code}"' in html
    assert re.search(r'value="bni_va" id="[^"]+" checked', html)
    assert not re.search(r'value="gopay" id="[^"]+" checked', html)


def test_retry_with_another_method_starts_an_attempt_with_only_that_method(
    client, package, midtrans_sim
):
    order = failed_order(package)
    response = client.post(
        f"/orders/{order.order_id}/pay/", {"key": order.access_key, "payment_method": "other_qris"}
    )
    attempt = PaymentAttempt.objects.get(order=order, sequence=2)
    assert response.status_code == 303
    assert response["Location"] == attempt.redirect_url
    assert attempt.payment_method == "other_qris"
    [request] = snap_requests(midtrans_sim)
    assert request["json"]["enabled_payments"] == ["other_qris"]
    order.refresh_from_db()
    assert order.payment_method == "other_qris"
    assert order.status == S.PENDING_PAYMENT


def test_retry_with_an_unknown_method_starts_nothing(client, package, midtrans_sim):
    order = failed_order(package)
    response = client.post(
        f"/orders/{order.order_id}/pay/", {"key": order.access_key, "payment_method": "bitcoin"}
    )
    assert response.status_code == 303
    assert "/orders/" in response["Location"]
    assert snap_requests(midtrans_sim) == []


def test_api_retry_with_another_method(client, package, midtrans_sim):
    order = failed_order(package)
    url = f"/api/orders/{order.order_id}/pay/"
    assert (
        client.post(url, {"payment_method": "gopay"}, content_type="application/json").status_code
        == 404
    )
    response = client.post(
        url,
        {"payment_method": "gopay"},
        content_type="application/json",
        headers={"X-Order-Key": order.access_key},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["payment"]["midtrans_order_id"] == f"{order.order_id}-2"
    assert body["payment"]["redirect_url"].startswith(midtrans_sim.base_url)
    assert body["payment"]["method"] == "gopay"
    [request] = snap_requests(midtrans_sim)
    assert request["json"]["enabled_payments"] == ["gopay"]

    # A live attempt now exists: a second retry is a conflict, not a second transaction.
    again = client.post(
        url,
        {"payment_method": "dana"},
        content_type="application/json",
        headers={"X-Order-Key": order.access_key},
    )
    assert again.status_code == 409
    assert len(snap_requests(midtrans_sim)) == 1


def test_api_retry_rejects_an_unknown_method(client, package):
    order = failed_order(package)
    response = client.post(
        f"/api/orders/{order.order_id}/pay/",
        {"payment_method": "bitcoin"},
        content_type="application/json",
        headers={"X-Order-Key": order.access_key},
    )
    assert response.status_code == 400
    assert "payment_method" in response.json()


def test_a_failed_attempts_number_is_gone_from_page_api_and_messages(client, package):
    order = failed_order(package, bill_key="", biller_code="")
    html = client.get(f"/orders/{order.order_id}/?key={order.access_key}").content.decode()
    assert "98765432101" not in html
    assert "snap/dead" not in html
    api = client.get(f"/api/orders/{order.order_id}/", headers={"X-Order-Key": order.access_key})
    assert api.json()["payment"]["va_number"] is None
    assert api.json()["payment"]["redirect_url"] is None
    context = order_message_context(order)
    assert "98765432101" not in str(context)
    assert "snap/dead" not in str(context)


def test_the_live_attempts_number_is_shown(client, package):
    order = order_in(S.PENDING_PAYMENT, package=package, payment_method="echannel")
    PaymentAttemptFactory(
        order=order, status=AttemptStatus.PENDING, bill_key="112233445566", biller_code="70012"
    )
    html = client.get(f"/orders/{order.order_id}/?key={order.access_key}").content.decode()
    assert "112233445566" in html and "70012" in html
    assert order_message_context(order)["payment"]["bill_key"] == "112233445566"
