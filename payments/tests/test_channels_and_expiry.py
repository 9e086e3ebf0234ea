"""Channel specifics (GoPay / DANA callbacks to the status page, GoPay paid as QRIS) and the
5-minute Snap minimum (https://docs.midtrans.com/reference/expire-a-snap-session), through the
simulator speaking real Midtrans shapes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.selectors import order_status_url
from orders.tests.factories import OrderFactory
from payments.attempts import PaymentTooLate, attempt_start
from payments.models import AttemptStatus, PaymentAttempt

pytestmark = pytest.mark.django_db
S = OrderStatus
WEBHOOK = "/payments/midtrans/notification/"


def snap_bodies(sim) -> list[dict]:
    return [r["json"] for r in sim.simulator.requests_log if r["path"] == "/snap/v1/transactions"]


@pytest.mark.parametrize(
    ("method", "key", "expected"),
    [
        ("gopay", "gopay", {"enable_callback": True}),
        ("dana", "dana", {}),
    ],
)
def test_app_to_app_payers_come_back_to_the_status_page(midtrans_sim, method, key, expected):
    order = OrderFactory(status=S.CREATED, payment_method=method)
    attempt_start(order_id=order.order_id)
    (body,) = snap_bodies(midtrans_sim)
    assert body[key] == {**expected, "callback_url": order_status_url(order)}
    assert body["callbacks"]["finish"] == order_status_url(order)


def test_a_va_payment_sends_no_app_callbacks(midtrans_sim):
    order = OrderFactory(status=S.CREATED)
    attempt_start(order_id=order.order_id)
    (body,) = snap_bodies(midtrans_sim)
    assert "gopay" not in body and "dana" not in body


def test_gopay_paid_from_a_desktop_as_qris_is_recorded_and_pays(client, live_server, midtrans_sim):
    midtrans_sim.simulator.notification_url = live_server.url + WEBHOOK
    order = OrderFactory(status=S.CREATED, payment_method="gopay")
    attempt = attempt_start(order_id=order.order_id)

    records = midtrans_sim.simulator.customer_action(
        attempt.midtrans_order_id, "pay", "gopay", desktop=True
    )

    assert [r["response_status"] for r in records] == [200, 200]
    attempt = PaymentAttempt.objects.get(pk=attempt.pk)
    assert (attempt.payment_method, attempt.payment_type) == ("gopay", "qris")
    assert attempt.payment_details["issuer"] == "gopay"
    assert attempt.status == AttemptStatus.COMPLETED
    assert attempt.fraud_status == "accept"
    assert Order.objects.get(pk=order.pk).status == S.PAID


@pytest.mark.parametrize(("minutes_left", "starts"), [(4, False), (5, True)])
def test_no_snap_transaction_with_less_than_five_minutes_left(midtrans_sim, minutes_left, starts):
    now = timezone.now()
    order = OrderFactory(
        status=S.CREATED, expires_at=now + timedelta(minutes=minutes_left, seconds=30)
    )
    if starts:
        attempt_start(order_id=order.order_id, now=now)
        assert snap_bodies(midtrans_sim)[0]["expiry"]["duration"] == 5
        return
    with pytest.raises(PaymentTooLate, match="kurang dari 5 menit"):
        attempt_start(order_id=order.order_id, now=now)
    assert snap_bodies(midtrans_sim) == []
    assert Order.objects.get(pk=order.pk).status == S.CREATED


def test_the_minimum_is_a_setting(midtrans_sim, settings):
    settings.SNAP_MIN_EXPIRY_MINUTES = 30
    order = OrderFactory(status=S.CREATED, expires_at=timezone.now() + timedelta(minutes=20))
    with pytest.raises(PaymentTooLate, match="kurang dari 30 menit"):
        attempt_start(order_id=order.order_id)


def test_a_late_retry_says_so_and_offers_a_prefilled_new_order(client, midtrans_sim):
    order = OrderFactory(expires_at=timezone.now() + timedelta(minutes=3))

    response = client.post(f"/orders/{order.order_id}/pay/", {"key": order.access_key})

    assert response.status_code == 409
    html = response.content.decode()
    assert "kurang dari 5 menit" in html
    new_order = f"/checkout/{order.package_code}/?from={order.order_id}&amp;key={order.access_key}"
    assert new_order in html
    assert snap_bodies(midtrans_sim) == []
    prefilled = client.get(new_order.replace("&amp;", "&")).content.decode()
    assert f'value="{order.customer_email}"' in prefilled


def test_an_unknown_order_id_is_answered_404_redelivered_and_stored_once(live_server, midtrans_sim):
    # A transaction this site never issued (another shop on the same Midtrans account, or a
    # test from the dashboard): 404, Midtrans retries (simulator REDELIVERY), one event stored.
    from devtools.midtrans_simulator.app import REDELIVERY
    from payments.midtrans import get_gateway
    from payments.models import PaymentEvent

    sim = midtrans_sim.simulator
    sim.notification_url = live_server.url + WEBHOOK
    sim.redeliver = True
    get_gateway().create_snap_transaction(
        {"transaction_details": {"order_id": "OTHER-SHOP-1", "gross_amount": 10000}}
    )
    record = sim.notify("OTHER-SHOP-1", "pending")

    assert record["response_status"] == 404
    sent = sim.transaction("OTHER-SHOP-1")["notifications"]
    assert [r["response_status"] for r in sent] == [404] * (1 + REDELIVERY[404])
    event = PaymentEvent.objects.get()
    assert (event.midtrans_order_id, event.outcome) == ("OTHER-SHOP-1", "unknown_order")
