"""Issue 13 (8): the payment panel on the status page: copy buttons with a no-JS fallback,
step-by-step instructions per bank, a server-rendered QR for QRIS, method logos."""

import pytest

from orders.models import OrderStatus
from orders.tests.lifecycle import order_in
from payments.models import AttemptStatus
from payments.tests.factories import PaymentAttemptFactory

pytestmark = pytest.mark.django_db
S = OrderStatus


def status_html(client, order) -> str:
    response = client.get(f"/orders/{order.order_id}/?key={order.access_key}")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    "method, bank, fields, steps",
    [
        ("bca_va", "bca", {"va_number": "11223344556"}, ["ATM BCA", "m-BCA", "KlikBCA"]),
        (
            "bni_va",
            "bni",
            {"va_number": "99887766554"},
            ["ATM BNI", "BNI Mobile", "BNI Internet Banking"],
        ),
        (
            "echannel",
            "",
            {"bill_key": "123456789012", "biller_code": "70012"},
            ["ATM Mandiri", "Livin", "Mandiri Internet Banking"],
        ),
    ],
)
def test_bank_panel_has_copy_buttons_and_steps(client, package, method, bank, fields, steps):
    order = order_in(S.PENDING_PAYMENT, package=package, payment_method=method)
    PaymentAttemptFactory(
        order=order, payment_method=method, status=AttemptStatus.PENDING, bank=bank, **fields
    )
    html = status_html(client, order)
    for value in fields.values():
        assert f">{value}</code>" in html
    # Copy buttons start hidden (JavaScript shows them); the numbers are selectable text.
    assert html.count('class="button copy-button"') == len(fields) + 1  # + the amount
    assert 'data-copy="copy-amount" hidden' in html and ">499000</code>" in html
    assert "Tekan lama" in html
    for step in steps:
        assert f"<summary>{step}" in html
    assert f"img/methods/{method}" in html


def test_qris_panel_renders_the_qr_on_our_server(client, package):
    order = order_in(S.PENDING_PAYMENT, package=package, payment_method="other_qris")
    PaymentAttemptFactory(
        order=order,
        payment_method="other_qris",
        status=AttemptStatus.PENDING,
        payment_details={"qr_string": "00020101021226570011ID.DANA.WWW011893600915"},
    )
    html = status_html(client, order)
    assert '<svg viewBox="0 0 ' in html and 'class="qr-code"' in html
    assert "<summary>ATM" not in html
    assert "api.midtrans.com" not in html


def test_e_wallet_panel_offers_the_app_deep_link(client, package):
    order = order_in(S.PENDING_PAYMENT, package=package, payment_method="gopay")
    PaymentAttemptFactory(
        order=order,
        payment_method="gopay",
        status=AttemptStatus.PENDING,
        payment_details={
            "actions": [{"name": "deeplink-redirect", "method": "GET", "url": "gojek://gopay/x"}]
        },
    )
    html = status_html(client, order)
    assert 'href="gojek://gopay/x"' in html and "Buka aplikasi GoPay" in html


def test_no_panel_for_a_failed_attempt(client, package):
    order = order_in(S.PENDING_PAYMENT, package=package, payment_method="bca_va")
    PaymentAttemptFactory(
        order=order,
        status=AttemptStatus.FAILED,
        va_number="11223344556",
        payment_details={"qr_string": "0002010102"},
    )
    html = status_html(client, order)
    assert "data-pay-panel" not in html
    assert "11223344556" not in html and "qr-code" not in html
