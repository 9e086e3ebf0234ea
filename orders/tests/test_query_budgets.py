"""Query budgets of checkout and the status API (issue 16), counted the way production runs
them (transactional tests: a request's outermost `atomic` is BEGIN/COMMIT, not a logged
SAVEPOINT pair). The Snap call is real HTTP to the simulator and costs no query."""

import json
import uuid

import pytest

from orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)

CHECKOUT_BUDGET = 15
STATUS_BUDGET = 3

BODY = {
    "package": "pro",
    "name": "Budi Santoso",
    "email": "budi@example.com",
    "phone": "+62 812-3456-7890",
    "payment_method": "bca_va",
    "promo_code": "",
}


def test_checkout_within_its_budget(client, package, midtrans_sim, django_assert_max_num_queries):
    with django_assert_max_num_queries(CHECKOUT_BUDGET):
        response = client.post(
            "/api/orders/",
            data=json.dumps(BODY),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"budget-{uuid.uuid4()}",
        )

    assert response.status_code == 201, response.content
    assert response.json()["payment"]["redirect_url"]
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.notifications.count() == 2  # the payment instructions, email + WhatsApp


def test_status_api_within_its_budget(client, package, midtrans_sim, django_assert_max_num_queries):
    created = client.post(
        "/api/orders/",
        data=json.dumps(BODY),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"budget-{uuid.uuid4()}",
    ).json()

    with django_assert_max_num_queries(STATUS_BUDGET):
        response = client.get(
            f"/api/orders/{created['order_id']}/", HTTP_X_ORDER_KEY=created["access_key"]
        )

    assert response.status_code == 200
    assert response.json()["payment"]["status"] == "PENDING"


def test_status_api_of_a_paid_order_within_its_budget(client, django_assert_max_num_queries):
    """A paid order's summary carries its course link: one more read, still in budget."""
    from django.utils import timezone

    from orders.models import OrderStatus
    from payments.tests.factories import PaymentAttemptFactory

    attempt = PaymentAttemptFactory(order__status=OrderStatus.PAID, order__paid_at=timezone.now())
    order = attempt.order

    with django_assert_max_num_queries(STATUS_BUDGET):
        response = client.get(f"/api/orders/{order.order_id}/", HTTP_X_ORDER_KEY=order.access_key)

    assert response.status_code == 200
    assert response.json()["course_url"] == f"/courses/{order.package.course.slug}/"
