"""The status page and the receipt: access key, server truth only, one block per status,
masked customer data."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderStatus
from orders.services import order_transition
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import pay
from payments.models import AttemptStatus
from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory

pytestmark = pytest.mark.django_db
S = OrderStatus

EMAIL = "budiman@example.com"
PHONE = "+6281234567789"


def make_order(package, status=S.PENDING_PAYMENT, **kwargs) -> Order:
    return OrderFactory(
        package=package, status=status, customer_email=EMAIL, customer_phone=PHONE, **kwargs
    )


def page(client, order: Order, extra: str = ""):
    return client.get(f"/orders/{order.order_id}/?key={order.access_key}{extra}")


def html_of(client, order: Order, extra: str = "") -> str:
    response = page(client, order, extra)
    assert response.status_code == 200
    return response.content.decode()


def assert_masked(html: str) -> None:
    assert EMAIL not in html
    assert PHONE not in html
    assert "b***n@example.com" in html
    assert "+62812****789" in html


def test_the_page_needs_the_right_key(client, package):
    order = make_order(package)
    missing = client.get("/orders/BF-20260101-NOPE22/?key=whatever")
    for response in [
        client.get(f"/orders/{order.order_id}/"),
        client.get(f"/orders/{order.order_id}/?key="),
        client.get(f"/orders/{order.order_id}/?key=wrong"),
        client.get(f"/orders/{order.order_id}/?key={order.access_key[:-1]}"),
    ]:
        assert response.status_code == 404
        # A wrong key and a missing order are indistinguishable.
        assert response.content == missing.content
    assert missing.status_code == 404


def test_pending_payment_shows_how_to_pay_and_a_synced_countdown(client, package):
    now = timezone.now()
    order = make_order(package, expires_at=now + timedelta(hours=2, minutes=5))
    PaymentAttemptFactory(
        order=order,
        redirect_url="http://sim.test/snap/v4/redirection/tok",
        va_number="98765432101",
        bank="bca",
        transaction_status="pending",
    )
    response = page(client, order)
    html = response.content.decode()

    assert response["Cache-Control"].startswith("max-age=0")
    assert "Menunggu pembayaran" in html
    assert "Rp 499.000" in html
    assert "Virtual Account BCA" in html
    assert "98765432101" in html and "Nomor Virtual Account BCA" in html
    assert 'href="http://sim.test/snap/v4/redirection/tok"' in html
    assert "data-countdown" in html and 'role="timer"' in html
    assert re.search(r"0[12]:0[45]:\d\d", html)  # server-rendered start value
    assert f'data-expires-at="{order.expires_at.isoformat()}"' in html
    assert 'data-server-now="' in html
    assert 'data-poll="1"' in html
    assert f'data-api-url="/api/orders/{order.order_id}/"' in html
    assert "js/order-status.js" in html
    assert "Coba bayar lagi" not in html
    assert_masked(html)


def test_mandiri_bill_shows_biller_code_and_bill_key(client, package):
    order = make_order(package, payment_method="echannel")
    PaymentAttemptFactory(order=order, bill_key="123456789012", biller_code="70012")
    html = html_of(client, order)
    assert "Kode perusahaan" in html and "70012" in html
    assert "Kode bayar" in html and "123456789012" in html


def test_uc006_a_failed_attempt_offers_try_again(client, package):
    order = make_order(package)
    PaymentAttemptFactory(order=order, status=AttemptStatus.FAILED, transaction_status="deny")
    html = html_of(client, order)

    assert "Menunggu pembayaran" in html
    assert "Pembayaran sebelumnya belum berhasil." in html
    assert "ditolak oleh bank" in html
    assert "Coba bayar lagi" in html
    assert f'action="/orders/{order.order_id}/pay/"' in html
    assert f'name="key" value="{order.access_key}"' in html


def test_midtrans_query_parameters_are_ignored(client, package):
    order = make_order(package)
    PaymentAttemptFactory(order=order)
    html = html_of(client, order, "&order_id=x-1&status_code=200&transaction_status=settlement")
    assert "Menunggu pembayaran" in html
    assert "Pembayaran berhasil" not in html


def test_created_order_offers_a_retry(client, package):
    order = make_order(package, status=S.CREATED)
    PaymentAttemptFactory(order=order, status=AttemptStatus.FAILED, snap_error="ReadTimeout")
    html = html_of(client, order)
    assert "Pembayaran belum dibuat" in html
    assert "Coba lagi" in html and f"/orders/{order.order_id}/pay/" in html
    assert 'data-poll="1"' not in html


def test_created_order_with_a_payment_being_prepared_polls(client, package):
    order = make_order(package, status=S.CREATED)
    PaymentAttemptFactory(order=order, status=AttemptStatus.CREATED, snap_token="")
    html = html_of(client, order)
    assert "Menyiapkan pembayaran" in html
    assert 'data-poll="1"' in html
    assert "/pay/" not in html


def test_created_order_past_its_expiry_offers_a_new_order(client, package):
    order = make_order(package, status=S.CREATED, expires_at=timezone.now() - timedelta(minutes=1))
    html = html_of(client, order)
    assert "Waktu pesanan habis" in html
    assert "Buat pesanan baru" in html
    assert "/pay/" not in html


def test_paid_shows_success_course_and_receipt_links(client, package):
    order = make_order(package)
    pay(order)
    html = html_of(client, order)

    assert "Pembayaran berhasil" in html
    assert f'action="/orders/{order.order_id}/access/?key={order.access_key}"' in html
    assert f"/orders/{order.order_id}/receipt/?key={order.access_key}" in html
    assert "data-countdown" not in html
    assert 'data-poll="1"' not in html
    assert_masked(html)


def test_failed_shows_the_reason_and_order_again(client, package):
    order = make_order(package)
    PaymentAttemptFactory(order=order, status=AttemptStatus.FAILED, transaction_status="cancel")
    order_transition(order_id=order.order_id, to_status=S.FAILED, actor="test", reason="cancel")
    html = html_of(client, order)

    assert "Pesanan dibatalkan" in html
    assert "Pembayaran dibatalkan." in html
    assert f'href="/checkout/pro/?from={order.order_id}&amp;key={order.access_key}"' in html
    assert "Pesan lagi" in html
    assert_masked(html)


def test_expired_offers_a_new_order(client, package):
    order = make_order(package)
    order_transition(
        order_id=order.order_id,
        to_status=S.EXPIRED,
        actor="test",
        now=order.expires_at + timedelta(seconds=1),
    )
    html = html_of(client, order)
    assert "Waktu pembayaran habis" in html
    assert "Buat pesanan baru" in html
    assert "/checkout/pro/?from=" in html


def test_no_order_again_link_when_the_package_is_no_longer_sold(client, package):
    order = make_order(package, status=S.CREATED)
    order_transition(order_id=order.order_id, to_status=S.FAILED, actor="test")
    package.is_active = False
    package.save()
    html = html_of(client, order)
    assert "Pesanan dibatalkan" in html
    assert "Pesan lagi" not in html


def test_refunded_says_so(client, package):
    order = make_order(package)
    pay(order)
    attempt = order.attempts.first()
    order_transition(
        order_id=order.order_id,
        to_status=S.REFUNDED,
        actor="test",
        payment_event=PaymentEventFactory(
            attempt=attempt, transaction_status="refund", status_code="200"
        ),
    )
    assert "Dana sudah dikembalikan" in html_of(client, order)


# --- receipt ------------------------------------------------------------------------------


def test_receipt_of_a_paid_order(client, package):
    order = make_order(package, discount_amount=49_900, discount_code="HEMAT10")
    pay(order)
    response = client.get(f"/orders/{order.order_id}/receipt/?key={order.access_key}")
    html = response.content.decode()

    assert response.status_code == 200
    assert "INV-" + order.order_id.removeprefix("BF-") in html
    assert "Paket Pro" in html
    assert "Rp 499.000" in html and "Rp 49.900" in html and "Rp 449.100" in html
    assert "WIB" in html
    assert "LUNAS" in html
    assert "js/receipt.js" in html and "data-print" in html
    # The buyer's own document, behind the secret key: their data in full.
    assert EMAIL in html and PHONE in html


def test_receipt_only_for_paid_orders_with_the_key(client, package):
    pending = make_order(package)
    assert (
        client.get(f"/orders/{pending.order_id}/receipt/?key={pending.access_key}").status_code
        == 404
    )
    paid = make_order(package)
    pay(paid)
    assert client.get(f"/orders/{paid.order_id}/receipt/?key=wrong").status_code == 404
    assert client.get(f"/orders/{paid.order_id}/receipt/").status_code == 404


def test_status_pages_are_rate_limited(client, package, ratelimit_on):
    order = make_order(package)
    statuses = [page(client, order).status_code for _ in range(61)]
    assert statuses[-1] == 429 and set(statuses[:60]) == {200}
