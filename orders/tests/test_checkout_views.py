"""The checkout pages through the Django test client, with Midtrans = the local simulator over
real HTTP: form errors, the Snap redirect, double submits, Midtrans down, retry, rate limit."""

import re

import pytest

from courses.tests.factories import PackageFactory
from orders.models import Order, OrderStatus, PromoCode
from payments.models import AttemptStatus, PaymentAttempt

pytestmark = pytest.mark.django_db

S = OrderStatus


@pytest.fixture
def package():
    return PackageFactory(code="pro", name="Paket Pro", price=499_000, features=["6 modul video"])


def form_token(client, url="/checkout/pro/") -> str:
    html = client.get(url).content.decode()
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def post_data(token: str, **changes) -> dict:
    return {
        "name": "Budi Santoso",
        "email": "Budi@Example.com",
        "phone": "0812-3456-7890",
        "payment_method": "bni_va",
        "promo_code": "",
        "form_token": token,
    } | changes


def snap_requests(server) -> list[dict]:
    return [r for r in server.simulator.requests_log if r["path"] == "/snap/v1/transactions"]


def test_landing_links_every_package_to_its_checkout(client, package):
    html = client.get("/").content.decode()
    assert "Rp 499.000" in html
    assert 'href="/checkout/pro/"' in html
    assert "Order Sekarang" in html


def test_checkout_form_renders_with_a_token_and_every_method(client, package):
    response = client.get("/checkout/pro/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "Paket Pro" in html and "Rp 499.000" in html
    assert "csrfmiddlewaretoken" in html
    assert len(form_token(client)) >= 32
    for code in ["bca_va", "bni_va", "echannel", "gopay", "shopeepay", "dana", "other_qris"]:
        assert f'value="{code}"' in html
    for name in ["name", "email", "phone", "payment_method", "promo_code"]:
        assert f'name="{name}"' in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_unknown_and_inactive_packages_are_404(client, package):
    assert client.get("/checkout/nope/").status_code == 404
    package.is_active = False
    package.save()
    assert client.get("/checkout/pro/").status_code == 404
    assert client.post("/checkout/pro/", post_data("x" * 32)).status_code == 404


def test_a_valid_order_redirects_to_snap(client, package, midtrans_sim):
    response = client.post("/checkout/pro/", post_data(form_token(client)))

    order = Order.objects.get()
    attempt = PaymentAttempt.objects.get(order=order)
    assert response.status_code == 303
    assert response["Location"] == attempt.redirect_url
    assert attempt.redirect_url.startswith(midtrans_sim.base_url + "/snap/v4/redirection/")
    assert order.status == S.PENDING_PAYMENT
    assert order.customer_email == "budi@example.com"
    assert order.customer_phone == "+6281234567890"
    assert order.payment_method == "bni_va"
    assert order.ip_address == "127.0.0.1"
    [request] = snap_requests(midtrans_sim)
    assert request["json"]["enabled_payments"] == ["bni_va"]


def test_invalid_input_rerenders_with_messages_and_typed_values(client, package, midtrans_sim):
    token = form_token(client)
    response = client.post(
        "/checkout/pro/",
        post_data(token, name="B", email="budi@", phone="021-555-1234", payment_method=""),
    )
    html = response.content.decode()

    assert response.status_code == 400
    assert "Nama terlalu pendek: minimal 3 karakter." in html
    assert "Masukkan alamat email yang valid" in html
    assert "bukan nomor telepon rumah/kantor" in html
    assert "Pilih metode pembayaran." in html
    assert 'value="B"' in html and 'value="budi@"' in html and 'value="021-555-1234"' in html
    assert f'name="form_token" value="{token}"' in html  # the same (unused) token
    assert 'aria-invalid="true"' in html
    assert 'id="id_name_error"' in html
    assert 'role="alert"' in html
    assert not Order.objects.exists()
    assert snap_requests(midtrans_sim) == []


def test_uc007_fix_the_data_then_the_order_is_created(client, package, midtrans_sim):
    token = form_token(client)
    assert client.post("/checkout/pro/", post_data(token, phone="12")).status_code == 400
    response = client.post("/checkout/pro/", post_data(token))
    assert response.status_code == 303
    assert Order.objects.count() == 1


def test_a_bad_promo_keeps_everything_typed(client, package, midtrans_sim):
    PromoCode.objects.create(code="HABIS", kind="FIXED", value=10_000, max_uses=1, used_count=1)
    response = client.post("/checkout/pro/", post_data(form_token(client), promo_code="habis"))
    html = response.content.decode()

    assert response.status_code == 400
    assert "Kuota kode promo sudah habis." in html
    assert 'id="id_promo_code_error"' in html
    assert 'value="Budi Santoso"' in html and 'value="habis"' in html
    assert not Order.objects.exists()


def test_a_valid_promo_lowers_the_snap_amount(client, package, midtrans_sim):
    PromoCode.objects.create(code="HEMAT10", kind="PERCENT", value=10)
    client.post("/checkout/pro/", post_data(form_token(client), promo_code="hemat10"))
    order = Order.objects.get()
    assert order.final_amount == 449_100
    assert snap_requests(midtrans_sim)[0]["json"]["transaction_details"]["gross_amount"] == 449_100


def test_double_submit_with_the_same_token_creates_one_order(client, package, midtrans_sim):
    data = post_data(form_token(client))
    first = client.post("/checkout/pro/", data)
    second = client.post("/checkout/pro/", data)  # double click / back button + resubmit

    assert Order.objects.count() == 1
    assert PaymentAttempt.objects.count() == 1
    assert first.status_code == second.status_code == 303
    assert second["Location"] == first["Location"]
    assert len(snap_requests(midtrans_sim)) == 1


def test_a_new_form_from_another_browser_is_a_new_order(client, package, midtrans_sim):
    from django.test import Client

    client.post("/checkout/pro/", post_data(form_token(client)))
    other = Client()
    other.post("/checkout/pro/", post_data(form_token(other)))
    assert Order.objects.count() == 2


def test_same_browser_new_form_offers_to_resume_the_pending_order(client, package, midtrans_sim):
    client.post("/checkout/pro/", post_data(form_token(client)))
    first = Order.objects.get()

    response = client.post("/checkout/pro/", post_data(form_token(client), payment_method="gopay"))
    html = response.content.decode()
    assert response.status_code == 409
    assert Order.objects.count() == 1
    assert "Lanjutkan pesanan sebelumnya" in html and "Buat pesanan baru" in html
    assert f"/orders/{first.order_id}/?key={first.access_key}" in html
    token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)

    # "Buat pesanan baru" re-posts what was typed, confirmed.
    again = client.post(
        "/checkout/pro/", post_data(token, payment_method="gopay") | {"new_order": "1"}
    )
    assert again.status_code == 303
    assert Order.objects.count() == 2
    assert Order.objects.exclude(pk=first.pk).get().payment_method == "gopay"


def test_resume_is_not_offered_once_the_previous_order_is_closed(client, package, midtrans_sim):
    from orders.tests.lifecycle import move

    client.post("/checkout/pro/", post_data(form_token(client)))
    move(Order.objects.get(), S.FAILED)
    response = client.post("/checkout/pro/", post_data(form_token(client)))
    assert response.status_code == 303
    assert Order.objects.count() == 2


def test_midtrans_unreachable_shows_the_retry_page_then_retry_works(
    client, package, midtrans_sim, settings
):
    settings.MIDTRANS_READ_TIMEOUT = 0.3
    settings.MIDTRANS_MAX_RETRIES = 1
    midtrans_sim.simulator.delay_next(count=2, seconds=1.5, path_prefix="/snap/")

    response = client.post("/checkout/pro/", post_data(form_token(client)))
    html = response.content.decode()

    order = Order.objects.get()
    assert response.status_code == 503
    assert "Pembayaran belum bisa dibuat, pesananmu aman" in html
    assert order.status == S.CREATED
    assert PaymentAttempt.objects.get().status == AttemptStatus.FAILED
    retry_url = f"/orders/{order.order_id}/pay/"
    assert f'action="{retry_url}"' in html
    assert f'name="key" value="{order.access_key}"' in html
    assert "csrfmiddlewaretoken" in html
    assert f"/orders/{order.order_id}/?key={order.access_key}" in html

    retry = client.post(retry_url, {"key": order.access_key})

    order.refresh_from_db()
    attempt = PaymentAttempt.objects.get(sequence=2)
    assert retry.status_code == 303
    assert retry["Location"] == attempt.redirect_url
    assert attempt.midtrans_order_id == f"{order.order_id}-2"
    assert order.status == S.PENDING_PAYMENT


def test_midtrans_rejecting_shows_a_clear_page_without_a_retry_loop(client, package, midtrans_sim):
    midtrans_sim.simulator.fail_next(count=1, status=400)
    response = client.post("/checkout/pro/", post_data(form_token(client)))
    html = response.content.decode()

    assert response.status_code == 502
    assert "Pembayaran belum bisa dibuat" in html
    assert "Coba lagi" not in html
    assert "WhatsApp" in html
    assert len(snap_requests(midtrans_sim)) == 1


def test_retry_needs_the_access_key_and_post(client, package, midtrans_sim):
    client.post("/checkout/pro/", post_data(form_token(client)))
    order = Order.objects.get()
    assert client.post(f"/orders/{order.order_id}/pay/", {"key": "wrong"}).status_code == 404
    assert client.post(f"/orders/{order.order_id}/pay/").status_code == 404
    assert client.get(f"/orders/{order.order_id}/pay/?key={order.access_key}").status_code == 405


def test_retry_of_a_live_payment_goes_back_to_it(client, package, midtrans_sim):
    first = client.post("/checkout/pro/", post_data(form_token(client)))
    order = Order.objects.get()
    again = client.post(f"/orders/{order.order_id}/pay/", {"key": order.access_key})
    assert again.status_code == 303
    assert again["Location"] == first["Location"]
    assert PaymentAttempt.objects.count() == 1


def test_order_again_prefills_from_the_old_order_only_with_its_key(client, package):
    from orders.tests.factories import OrderFactory

    old = OrderFactory(
        package=package, customer_name="Sari Dewi", customer_email="sari@example.com"
    )
    html = client.get(f"/checkout/pro/?from={old.order_id}&key={old.access_key}").content.decode()
    assert 'value="Sari Dewi"' in html and 'value="sari@example.com"' in html

    html = client.get(f"/checkout/pro/?from={old.order_id}&key=wrong").content.decode()
    assert "Sari Dewi" not in html


def test_checkout_posts_are_rate_limited_per_ip(client, package, ratelimit_on):
    statuses = [
        client.post("/checkout/pro/", post_data("x" * 32, name="B")).status_code for _ in range(11)
    ]
    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429
    assert client.get("/checkout/pro/").status_code == 200  # GETs are not counted
    # Another client IP is not affected.
    other = client.post("/checkout/pro/", post_data("x" * 32, name="B"), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 400
