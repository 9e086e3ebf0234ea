"""Reads for the storefront and the order pages."""

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from buatfilm.db import QueryTemplate
from buatfilm.formatting import mask_email, mask_phone, rupiah
from courses.models import Course, Package
from orders.models import Order, OrderStatus, PaymentMethod
from payments.models import AttemptStatus, PaymentAttempt
from payments.selectors import attempt_customer_details, attempt_is_stuck


def _keyed_url(order: Order, view: str) -> str:
    path = reverse(view, kwargs={"order_id": order.order_id})
    return f"{settings.SITE_URL}{path}?key={order.access_key}"


def order_status_url(order: Order) -> str:
    """The customer's status page of an order (absolute, with its access key)."""
    return _keyed_url(order, "orders:status")


def order_receipt_pdf_url(order: Order) -> str:
    """The PDF invoice of a PAID order (absolute, with its access key): the success email links
    to it rather than attaching it, so sending never waits for a PDF to be rendered."""
    return _keyed_url(order, "orders:receipt_pdf")


def packages_for_sale() -> QuerySet[Package]:
    return Package.objects.filter(is_active=True, course__is_active=True).select_related("course")


def order_for_customer(*, order_id: str, access_key: str) -> Order | None:
    """The order only when the caller holds its access key; a wrong key and a missing order
    look the same (None), so order ids alone reveal nothing."""
    if not access_key:
        return None
    # Compiled once (`QueryTemplate`: every status poll starts here). No joins: the status
    # poll (most calls) reads the order and its latest attempt, never the catalogue; a paid
    # order's course link costs its own query (`order_course_slug`).
    order = _ORDER.first(order_id=order_id)
    if order is None:
        return None
    if not secrets.compare_digest(order.access_key, access_key):
        return None
    return order


def order_by_idempotency_key(*, idempotency_key: str) -> Order | None:
    """The order a form token / API Idempotency-Key already created, if any."""
    return Order.objects.filter(idempotency_key=idempotency_key).first()


def order_resumable(*, order_id: str, now: datetime) -> Order | None:
    """The order when it can still be paid (CREATED or PENDING_PAYMENT, not past
    `expires_at`): what "lanjutkan pesanan sebelumnya" may offer."""
    return Order.objects.filter(
        order_id=order_id,
        status__in=[OrderStatus.CREATED, OrderStatus.PENDING_PAYMENT],
        expires_at__gt=now,
    ).first()


def order_course_slug(*, order: Order) -> str:
    """The slug of the course the order's package opens, in one query."""
    slug: str = (
        Course.objects.filter(packages=order.package_id).values_list("slug", flat=True).get()
    )
    return slug


def order_latest_attempt(*, order: Order) -> PaymentAttempt | None:
    """The newest payment attempt (highest sequence) of an order (compiled once: the status
    poll, the status page and every retry read it)."""
    attempt = _LATEST_ATTEMPT.first(order_id=order.order_id)
    if attempt is not None:
        attempt.order = order
    return attempt


_ORDER: QueryTemplate[Order] = QueryTemplate(
    lambda *, order_id: Order.objects.filter(order_id=order_id)
)
_LATEST_ATTEMPT: QueryTemplate[PaymentAttempt] = QueryTemplate(
    lambda *, order_id: PaymentAttempt.objects.filter(order_id=order_id).order_by("-sequence")[:1]
)


def order_can_retry_payment(*, order: Order, now: datetime) -> bool:
    """True when the customer may start a new payment attempt (UC-006): the order is CREATED or
    PENDING_PAYMENT, at least a minute remains before `expires_at`, and there is no live or
    in-flight attempt (a CREATED attempt whose process died during the Snap call counts as
    failed once `attempt_is_stuck`). `payments.attempts.attempt_start` enforces the same rule
    under lock."""
    return _retry_window_open(order=order, now=now) and _no_live_attempt(
        latest=order_latest_attempt(order=order), now=now
    )


def _retry_window_open(*, order: Order, now: datetime) -> bool:
    return order.status in (
        OrderStatus.CREATED,
        OrderStatus.PENDING_PAYMENT,
    ) and order.expires_at - now >= timedelta(minutes=1)


def _no_live_attempt(*, latest: PaymentAttempt | None, now: datetime) -> bool:
    return (
        latest is None or latest.status == AttemptStatus.FAILED or attempt_is_stuck(latest, now=now)
    )


def order_public_summary(*, order: Order, now: datetime) -> dict[str, Any]:
    """What the customer may see about an order (status page and `GET /api/orders/<id>/`), as
    JSON values. Server truth only; customer contact data masked; the payment link only while
    its attempt is live; the course link only when PAID."""
    attempt = order_latest_attempt(order=order)
    live = attempt is not None and attempt.status == AttemptStatus.PENDING
    payment: dict[str, Any] = {
        "method": order.payment_method,
        "method_display": order.get_payment_method_display(),
        "midtrans_order_id": attempt.midtrans_order_id if attempt else None,
        "status": attempt.status if attempt else None,
        "transaction_status": (attempt.transaction_status or None) if attempt else None,
        # Only the live attempt's way to pay: a dead VA number / bill key is never shown.
        **attempt_customer_details(attempt),
        "redirect_url": attempt.redirect_url if live and attempt and attempt.redirect_url else None,
    }
    paid = order.status == OrderStatus.PAID
    return {
        "order_id": order.order_id,
        "status": order.status,
        "status_display": order.get_status_display(),
        "amount": order.final_amount,
        "amount_display": rupiah(order.final_amount),
        "base_amount": order.base_amount,
        "discount_amount": order.discount_amount,
        "discount_code": order.discount_code or None,
        "currency": order.currency,
        "package": {"code": order.package_code, "name": order.package_name},
        "created_at": order.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "server_time": now.isoformat(),
        "seconds_left": max(0, int((order.expires_at - now).total_seconds())),
        "can_retry_payment": _retry_window_open(order=order, now=now)
        and _no_live_attempt(latest=attempt, now=now),
        "payment_methods": [{"code": code, "name": name} for code, name in PaymentMethod.choices],
        "payment": payment,
        "customer": {
            "email": mask_email(order.customer_email),
            "phone": mask_phone(order.customer_phone),
        },
        "course_url": reverse("courses:detail", kwargs={"slug": order_course_slug(order=order)})
        if paid
        else None,
    }


def order_invoice_number(*, order: Order) -> str:
    """`BF-20261124-7KQ2XM` -> `INV-20261124-7KQ2XM`: one receipt per order, derived, so it
    never needs a counter and support can map it back to the order by eye."""
    return "INV-" + order.order_id.removeprefix("BF-")


def order_paid_attempt(*, order: Order) -> PaymentAttempt | None:
    """The attempt that paid the order (COMPLETED), else the latest one."""
    return order.attempts.filter(status=AttemptStatus.COMPLETED).order_by(
        "-sequence"
    ).first() or order_latest_attempt(order=order)


_FAILURE_TEXT = {
    "deny": "Pembayaran ditolak oleh bank atau penyedia pembayaran.",
    "cancel": "Pembayaran dibatalkan.",
    "expire": "Tagihan pembayarannya sudah kedaluwarsa.",
    "failure": "Pembayaran gagal diproses oleh penyedia pembayaran.",
}


def attempt_failure_text(*, attempt: PaymentAttempt | None) -> str:
    """Why the last payment did not go through, in the customer's words, from what Midtrans
    told us (never from the finish-redirect query string)."""
    if attempt is None:
        return "Pembayaran tidak berhasil."
    if attempt.status == AttemptStatus.CREATED or (
        attempt.snap_error and not attempt.transaction_status
    ):
        return "Tagihan pembayaran gagal dibuat."
    return _FAILURE_TEXT.get(attempt.transaction_status, "Pembayaran tidak berhasil.")


def orders_of_customer(*, email: str, limit: int = 50) -> QuerySet[Order]:
    """A logged-in customer's orders (newest first) for "Kursus saya": every order placed with
    the account's email, whatever its status, so a pending one can be found again."""
    return Order.objects.filter(customer_email__iexact=email.strip()).order_by("-created_at")[
        :limit
    ]
