"""The JSON API: `POST /api/orders/` (Idempotency-Key, same rules as the form, Midtrans over
real HTTP to the simulator) and `GET /api/orders/<id>/` (access key, masked data)."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from courses.tests.factories import PackageFactory
from orders.models import Order, OrderStatus, PromoCode
from orders.services import order_transition
from orders.tests.factories import OrderFactory
from payments.models import AttemptStatus, PaymentAttempt
from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory

pytestmark = pytest.mark.django_db
S = OrderStatus

BODY = {
    "package": "pro",
    "name": "Budi Santoso",
    "email": "Budi@Example.com",
    "phone": "+62 812-3456-7890",
    "payment_method": "other_qris",
    "promo_code": "",
}


def new_key() -> str:
    return f"test-{uuid.uuid4()}"


def create(client, body=None, key: str | None = "auto", **headers):
    extra = {"HTTP_IDEMPOTENCY_KEY": new_key() if key == "auto" else key} if key else {}
    return client.post(
        "/api/orders/",
        data=json.dumps(BODY if body is None else body),
        content_type="application/json",
        **extra,
        **headers,
    )


def snap_requests(server) -> list[dict]:
    return [r for r in server.simulator.requests_log if r["path"] == "/snap/v1/transactions"]


# --- POST /api/orders/ --------------------------------------------------------------------


def test_create_answers_201_with_the_payment(client, package, midtrans_sim):
    response = create(client)

    assert response.status_code == 201, response.content
    data = response.json()
    order = Order.objects.get()
    attempt = PaymentAttempt.objects.get()
    assert data["order_id"] == order.order_id
    assert data["access_key"] == order.access_key
    assert data["status"] == S.PENDING_PAYMENT
    assert data["amount"] == 499_000
    assert data["payment"]["redirect_url"] == attempt.redirect_url
    assert data["payment"]["token"] == attempt.snap_token
    assert data["payment"]["midtrans_order_id"] == f"{order.order_id}-1"
    assert data["status_url"].endswith(f"/orders/{order.order_id}/?key={order.access_key}")
    assert order.customer_phone == "+6281234567890"
    assert order.customer_email == "budi@example.com"
    assert order.idempotency_key.startswith("api:test-")


def test_the_same_idempotency_key_returns_the_first_order_with_200(client, package, midtrans_sim):
    key = new_key()
    first = create(client, key=key)
    second = create(client, key=key, body=BODY | {"name": "Orang Lain"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["order_id"] == first.json()["order_id"]
    assert second.json()["payment"]["redirect_url"] == first.json()["payment"]["redirect_url"]
    assert Order.objects.count() == 1
    assert len(snap_requests(midtrans_sim)) == 1


def test_the_idempotency_key_header_is_required(client, package, midtrans_sim):
    for key in [None, "short", "has spaces in it but long enough"]:
        response = create(client, key=key)
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()
    assert not Order.objects.exists()


def test_field_errors_are_json_with_the_form_messages(client, package, midtrans_sim):
    response = create(
        client,
        body={
            "package": "pro",
            "name": "B1",
            "email": "nope",
            "phone": "+6591234567",
            "payment_method": "mandiri_va",
        },
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors["name"] == ["Nama terlalu pendek: minimal 3 karakter."]
    assert errors["email"] == ["Masukkan alamat email yang valid, mis. budi@gmail.com."]
    assert errors["phone"] == [
        "Gunakan nomor Indonesia (+62). Nomor luar negeri belum bisa dipakai."
    ]
    assert errors["payment_method"][0].startswith("Metode pembayaran tidak dikenal.")
    assert not Order.objects.exists()
    assert snap_requests(midtrans_sim) == []


def test_missing_fields_are_reported(client, package):
    errors = create(client, body={}).json()
    assert set(errors) == {"package", "name", "email", "phone", "payment_method"}
    assert errors["name"] == ["Wajib diisi."]


def test_unknown_package_and_invalid_promo_are_field_errors(client, package, midtrans_sim):
    assert create(client, body=BODY | {"package": "nope"}).json() == {
        "package": ["Paket tidak ditemukan atau sudah tidak dijual."]
    }
    PromoCode.objects.create(
        code="NANTI", kind="FIXED", value=1000, valid_from=timezone.now() + timedelta(days=1)
    )
    response = create(client, body=BODY | {"promo_code": "nanti"})
    assert response.status_code == 400
    assert response.json() == {"promo_code": ["Kode promo belum berlaku."]}
    assert not Order.objects.exists()


def test_bad_json_is_a_400(client, package):
    response = client.post(
        "/api/orders/",
        data="{not json",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code == 400


def test_midtrans_unavailable_is_503_with_the_order_then_a_repeat_pays(
    client, package, midtrans_sim, settings
):
    settings.MIDTRANS_READ_TIMEOUT = 0.3
    settings.MIDTRANS_MAX_RETRIES = 0
    midtrans_sim.simulator.delay_next(count=1, seconds=1.5, path_prefix="/snap/")
    key = new_key()

    response = create(client, key=key)

    assert response.status_code == 503
    data = response.json()
    order = Order.objects.get()
    assert data["order_id"] == order.order_id
    assert data["access_key"] == order.access_key
    assert data["status"] == S.CREATED
    assert data["retryable"] is True
    assert "coba lagi" in data["detail"]
    assert data["payment"]["redirect_url"] is None

    repeat = create(client, key=key)  # the client retries the same request

    assert repeat.status_code == 200
    assert repeat.json()["status"] == S.PENDING_PAYMENT
    assert repeat.json()["payment"]["midtrans_order_id"] == f"{order.order_id}-2"
    assert Order.objects.count() == 1


def test_midtrans_rejecting_is_502_not_retryable(client, package, midtrans_sim):
    midtrans_sim.simulator.fail_next(count=1, status=400)
    response = create(client)
    assert response.status_code == 502
    assert response.json()["retryable"] is False
    assert len(snap_requests(midtrans_sim)) == 1


# --- GET /api/orders/<id>/ ----------------------------------------------------------------


def test_detail_needs_the_access_key(client, package):
    order = OrderFactory(package=package)
    url = f"/api/orders/{order.order_id}/"

    for response in [
        client.get(url),
        client.get(url + "?key=wrong"),
        client.get(url, HTTP_X_ORDER_KEY="wrong"),
        client.get("/api/orders/BF-20260101-NOPE22/?key=" + order.access_key),
    ]:
        assert response.status_code == 404
        assert response.json() == {"detail": "Pesanan tidak ditemukan."}

    assert client.get(url, HTTP_X_ORDER_KEY=order.access_key).status_code == 200
    assert client.get(url + f"?key={order.access_key}").status_code == 200


def test_detail_of_a_pending_order(client, package):
    order = OrderFactory(
        package=package, customer_email="budiman@example.com", customer_phone="+6281234567789"
    )
    PaymentAttemptFactory(
        order=order,
        redirect_url="http://sim.test/snap/v4/redirection/abc",
        va_number="12345678901",
        bank="bca",
        transaction_status="pending",
    )
    response = client.get(f"/api/orders/{order.order_id}/", HTTP_X_ORDER_KEY=order.access_key)
    data = response.json()

    assert response["Cache-Control"] == "no-store"
    assert data["order_id"] == order.order_id
    assert data["status"] == S.PENDING_PAYMENT
    assert data["amount"] == 499_000
    assert data["package"] == {"code": "pro", "name": "Paket Pro"}
    assert data["expires_at"] == order.expires_at.isoformat()
    assert data["paid_at"] is None
    assert abs(timezone.datetime.fromisoformat(data["server_time"]) - timezone.now()) < timedelta(
        seconds=5
    )
    assert data["payment"] == {
        "method": "bca_va",
        "method_display": "Virtual Account BCA",
        "midtrans_order_id": f"{order.order_id}-1",
        "status": AttemptStatus.PENDING,
        "transaction_status": "pending",
        "va_number": "12345678901",
        "bank": "bca",
        "bill_key": None,
        "biller_code": None,
        "qr_string": None,
        "qr_url": None,
        "deeplink_url": None,
        "redirect_url": "http://sim.test/snap/v4/redirection/abc",
    }
    assert data["course_url"] is None
    assert data["customer"] == {"email": "b***n@example.com", "phone": "+62812****789"}
    body = response.content.decode()
    assert "budiman@example.com" not in body
    assert "+6281234567789" not in body
    assert order.access_key not in body


def test_detail_of_a_paid_order_has_the_course_link(client, package):
    order = OrderFactory(package=package)
    attempt = PaymentAttemptFactory(order=order)
    order_transition(
        order_id=order.order_id,
        to_status=S.PAID,
        actor="test",
        payment_event=PaymentEventFactory(attempt=attempt),
    )
    data = client.get(f"/api/orders/{order.order_id}/?key={order.access_key}").json()
    assert data["status"] == S.PAID
    assert data["paid_at"] is not None
    assert data["course_url"] == f"/courses/{package.course.slug}/"
    assert data["payment"]["redirect_url"] is None  # nothing left to pay


def test_a_failed_attempt_exposes_no_payment_link(client, package):
    order = OrderFactory(package=package)
    PaymentAttemptFactory(order=order, status=AttemptStatus.FAILED, redirect_url="http://x.test/")
    data = client.get(f"/api/orders/{order.order_id}/?key={order.access_key}").json()
    assert data["payment"]["redirect_url"] is None
    assert data["can_retry_payment"] is True


def test_status_lookups_are_rate_limited(client, package, ratelimit_on):
    order = OrderFactory(package=package)
    url = f"/api/orders/{order.order_id}/?key={order.access_key}"
    statuses = [client.get(url).status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120
    assert statuses[120] == 429
    assert client.get(url).json() == {
        "detail": "Terlalu banyak permintaan. Coba lagi sebentar lagi."
    }


def test_packages_list(client, package):
    PackageFactory(code="old", is_active=False)
    data = client.get("/api/packages/").json()
    assert [p["code"] for p in data] == ["pro"]
    assert data[0]["price"] == 499_000
