"""Issue 13 (5, 6): the real price before ordering (server-rendered promo preview, payable
minimum, admin refusal) and never charging twice for a course the customer already owns."""

import re

import pytest

from orders.models import Order, OrderStatus, PromoCode
from orders.tests.lifecycle import order_in, pay
from supportdesk.forms import PromoCodeAdminForm

pytestmark = pytest.mark.django_db
S = OrderStatus


def token_of(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def post_data(token: str, **changes) -> dict:
    return {
        "name": "Budi Santoso",
        "email": "budi@example.com",
        "phone": "0812-3456-7890",
        "payment_method": "bni_va",
        "promo_code": "",
        "form_token": token,
    } | changes


def total_of(html: str) -> str:
    return re.search(r"data-total>([^<]+)<", html).group(1)


def test_checkout_shows_base_discount_and_total(client, package):
    html = client.get("/checkout/pro/").content.decode()
    assert total_of(html) == "Rp 499.000"
    PromoCode.objects.create(code="HEMAT10", kind="PERCENT", value=10)
    html = client.get("/checkout/pro/?promo_code=hemat10").content.decode()
    assert total_of(html) == "Rp 449.100"
    assert "Diskon (HEMAT10)" in html and "\u2212Rp 49.900" in html
    assert 'value="hemat10"' in html


@pytest.mark.parametrize(
    "code, message",
    [
        ("NOPE", "Kode promo tidak ditemukan."),
        ("bad code!", "Kode promo tidak ditemukan."),
    ],
)
def test_an_invalid_promo_shows_its_error_and_the_full_price(client, package, code, message):
    response = client.get("/checkout/pro/", {"promo_code": code})
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert total_of(html) == "Rp 499.000"


def test_a_promo_code_with_a_nul_gets_the_400_page(client, package):
    # HostileInputMiddleware (issue 10): no honest promo code holds a NUL.
    response = client.get("/checkout/pro/", {"promo_code": "x\x00y"})
    assert response.status_code == 400
    assert "Permintaan tidak valid" in response.content.decode()


def test_apply_promo_without_javascript_keeps_the_form_and_creates_nothing(client, package):
    PromoCode.objects.create(code="HEMAT10", kind="PERCENT", value=10)
    token = token_of(client.get("/checkout/pro/").content.decode())
    response = client.post(
        "/checkout/pro/", post_data(token, promo_code="hemat10", name="") | {"apply_promo": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert total_of(html) == "Rp 449.100"
    assert "Nama wajib diisi" not in html  # only the promo is judged yet
    assert 'value="budi@example.com"' in html
    assert not Order.objects.exists()
    assert PromoCode.objects.get().used_count == 0


def test_admin_refuses_a_promo_below_the_payable_minimum(package):
    form = PromoCodeAdminForm(
        data={"code": "GRATIS", "kind": "PERCENT", "value": 100, "is_active": True}
    )
    assert not form.is_valid()
    assert "batas minimum pembayaran" in str(form.errors["value"])
    ok = PromoCodeAdminForm(
        data={"code": "HEMAT", "kind": "PERCENT", "value": 50, "is_active": True}
    )
    assert ok.is_valid(), ok.errors


def owner(package):
    order = order_in(
        S.PENDING_PAYMENT,
        package=package,
        customer_email="budi@example.com",
        customer_phone="+6281234567890",
    )
    pay(order)
    return order


def test_an_owner_proving_email_and_phone_is_sent_to_kursus_saya(client, package, midtrans_sim):
    owner(package)
    token = token_of(client.get("/checkout/pro/").content.decode())
    response = client.post("/checkout/pro/", post_data(token))
    html = response.content.decode()
    assert response.status_code == 409
    assert "sudah punya akses" in html
    assert 'href="/login/"' in html
    assert Order.objects.count() == 1


def test_a_logged_in_owner_is_told_whatever_phone_they_type(client, package, midtrans_sim):
    order = owner(package)
    client.force_login(order.entitlement.user)
    token = token_of(client.get("/checkout/pro/").content.decode())
    response = client.post("/checkout/pro/", post_data(token, phone="0813-1111-2222"))
    assert response.status_code == 409
    assert "Kursus saya" in response.content.decode()
    assert Order.objects.count() == 1


def test_a_stranger_with_only_the_email_sees_the_normal_checkout(client, package, midtrans_sim):
    owner(package)
    token = token_of(client.get("/checkout/pro/").content.decode())
    response = client.post("/checkout/pro/", post_data(token, phone="0813-1111-2222"))
    assert response.status_code == 303  # exactly what any new customer gets: nothing revealed
    assert "sudah punya akses" not in response.content.decode()
    assert Order.objects.count() == 2


def test_a_refunded_customer_may_buy_again(client, package, midtrans_sim):
    from orders.tests.lifecycle import move

    order = owner(package)
    move(order, S.REFUNDED)
    token = token_of(client.get("/checkout/pro/").content.decode())
    assert client.post("/checkout/pro/", post_data(token)).status_code == 303


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
