"""Hostile bytes never give a 500 (issue 10, point 6): NUL characters, lone surrogates and
over-long values in a URL, query, header, form field or JSON body get 400/403/404 with the
project's error pages (JSON under /api/ and /payments/)."""

import json

import pytest

from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

LONG = "a" * 5000
NUL = "\x00"


@pytest.fixture
def order():
    return OrderFactory()


def assert_refused(response, *, html: bool = True) -> None:
    assert response.status_code in {400, 403, 404}, (response.status_code, response.content[:300])
    body = response.content.decode()
    if html:
        assert "css/site.css" in body  # the project's page, not Django's bare one
    else:
        assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "path",
    [
        "/orders/%00/",
        "/orders/BF-%00/receipt/",
        "/orders/BF-1/pay/%00",
        "/login/%00/",
        "/courses/%00/",
        "/checkout/%00/",
        "/" + "x" * 3000 + "/",
    ],
)
def test_hostile_paths_get_the_404_page(client, path):
    assert_refused(client.get(path))


@pytest.mark.parametrize("path", ["/api/orders/%00/", "/api/orders/BF-1/%00/"])
def test_hostile_api_paths_get_json(client, path):
    assert_refused(client.get(path), html=False)


@pytest.mark.parametrize(
    "query",
    [
        {"key": NUL},
        {"key": "abc" + NUL},
        {"key": LONG},
        {NUL: "x"},
    ],
)
def test_hostile_query_values_on_every_customer_page(client, order, query):
    for path in (
        f"/orders/{order.order_id}/",
        f"/orders/{order.order_id}/receipt/",
        "/checkout/pro/",
        "/login/",
        "/",
    ):
        assert_refused(client.get(path, query))
    assert_refused(client.get(f"/api/orders/{order.order_id}/", query), html=False)


def test_prefill_with_hostile_order_id(client, order):
    assert_refused(client.get("/checkout/pro/", {"from": NUL, "key": order.access_key}))


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_ORDER_KEY": NUL},
        {"HTTP_X_ORDER_KEY": LONG * 2},
        {"HTTP_IDEMPOTENCY_KEY": "abcdefghijklmnop" + NUL},
        {"HTTP_COOKIE": "sessionid=abc" + NUL},
        {"HTTP_USER_AGENT": "Mozilla" + NUL},
        {"HTTP_X_FORWARDED_FOR": "1.2.3.4" + NUL},
    ],
)
def test_hostile_headers(client, order, header):
    assert_refused(client.get(f"/api/orders/{order.order_id}/", **header), html=False)
    assert_refused(client.get(f"/orders/{order.order_id}/", {"key": order.access_key}, **header))


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/checkout/pro/", {"name": "Budi" + NUL, "email": "b@example.com"}),
        ("/checkout/pro/", {"email": LONG + "@example.com"}),
        ("/login/", {"email": "budi" + NUL + "@example.com"}),
        ("/login/", {"email": LONG}),
    ],
)
def test_hostile_form_fields(client, path, data):
    assert_refused(client.post(path, data))


def test_hostile_admin_login(client, settings):
    response = client.post(f"/{settings.ADMIN_URL}login/", {"username": NUL, "password": "x"})
    assert_refused(response)


@pytest.mark.parametrize(
    "raw",
    [
        '{"package": "pro", "name": "Budi\\u0000", "email": "b@example.com"}',
        '{"package": "pro", "name": "Budi\\ud800", "email": "b@example.com"}',
        '{"package": "pro", "name": "\\udc00", "email": "b@example.com"}',
        '{"package": "pro\\u0000"}',
        '{"\\u0000": "x"}',
        json.dumps({"package": "pro", "name": LONG}),
    ],
)
def test_hostile_json_bodies(client, raw):
    response = client.post(
        "/api/orders/",
        data=raw,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="hostile-json-test-0001",
    )
    assert_refused(response, html=False)


def test_hostile_json_on_the_order_pay_endpoint(client, order):
    response = client.post(
        f"/api/orders/{order.order_id}/pay/",
        data='{"payment_method": "bca_va\\u0000"}',
        content_type="application/json",
        HTTP_X_ORDER_KEY=order.access_key,
    )
    assert response.status_code in {400, 403, 404, 405}


def test_a_plain_request_is_untouched(client, order):
    response = client.get(f"/orders/{order.order_id}/", {"key": order.access_key})
    assert response.status_code == 200
    assert client.get("/healthz/").status_code == 200


def test_the_refusal_is_logged_without_the_value(client, caplog):
    client.get("/login/", {"email": "secret-looking" + NUL})
    assert "event=hostile_input part=query field=email problem=NUL character" in caplog.text
    assert "secret-looking" not in caplog.text
