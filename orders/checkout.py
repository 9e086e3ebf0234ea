"""Checkout: creating orders (package lookup, promo codes under a row lock, idempotency,
order ids). Starting the Midtrans payment is `payments.attempts`' job."""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from buatfilm.formatting import rupiah
from buatfilm.logging import correlate
from courses.models import Package
from orders.models import Order, OrderStatus, PaymentMethod, PromoCode
from supportdesk.audit import SYSTEM_CHECKOUT, audit_record

logger = logging.getLogger(__name__)

_ORDER_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone


def generate_order_id(now: datetime | None = None) -> str:
    """Human-readable and unguessable enough to be no secret: `BF-20261123-7KQ2XM`. Uniqueness is
    the primary key's job; callers retry on a collision."""
    day = timezone.localtime(now or timezone.now()).strftime("%Y%m%d")
    suffix = "".join(secrets.choice(_ORDER_ID_ALPHABET) for _ in range(6))
    return f"BF-{day}-{suffix}"


ORDER_ID_ATTEMPTS = 5


class CheckoutError(Exception):
    """The order was not created; `message` is for the customer, `field` names the form field
    it belongs to ("" = the whole form)."""

    field = ""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PackageUnavailable(CheckoutError):
    """Unknown package code, or the package (or its course) is no longer sold."""

    field = "package"


class PromoInvalid(CheckoutError):
    """The promo code does not exist or does not apply (message says which)."""

    field = "promo_code"


# The smallest `gross_amount` each method can be paid with. Midtrans' docs publish no per-
# channel minimum for Snap; Indonesian bank VAs (and Mandiri bill) are commonly refused under
# Rp 10.000 and e-wallets/QRIS accept from Rp 1 (see docs/decisions.md, issue 13, for the
# sources). Retry may switch an order to any method, so the order total must be payable with
# every method: `PAYABLE_MINIMUM` is the largest of these.
METHOD_MINIMUM_AMOUNT: dict[str, int] = {
    PaymentMethod.BCA_VA: 10_000,
    PaymentMethod.BNI_VA: 10_000,
    PaymentMethod.MANDIRI_BILL: 10_000,
    PaymentMethod.GOPAY: 1,
    PaymentMethod.SHOPEEPAY: 1,
    PaymentMethod.DANA: 1,
    PaymentMethod.QRIS: 1,
}
PAYABLE_MINIMUM = max(METHOD_MINIMUM_AMOUNT.values())


def promo_discount(*, promo: PromoCode, base_amount: int) -> int:
    """Rupiah taken off `base_amount`: percent rounded half up to whole rupiah, or the fixed
    value; never so much that the total drops below `PAYABLE_MINIMUM` (a price already below
    it gets no discount), so every method can still be used to pay."""
    if promo.kind == PromoCode.Kind.PERCENT:
        discount = (base_amount * promo.value + 50) // 100
    else:
        discount = promo.value
    return max(0, min(discount, base_amount - PAYABLE_MINIMUM))


def promo_floor_problem(*, kind: str, value: int, prices: list[int]) -> str:
    """Why the admin must refuse a promo that would bring one of `prices` below the payable
    minimum ("" = fine). Checkout caps the discount anyway; this keeps staff from creating a
    code that promises more than it can give."""
    for price in sorted(set(prices)):
        full = (price * value + 50) // 100 if kind == PromoCode.Kind.PERCENT else value
        if price - full < PAYABLE_MINIMUM:
            return (
                f"Dengan promo ini total paket seharga {rupiah(price)} menjadi di bawah "
                f"{rupiah(PAYABLE_MINIMUM)}, batas minimum pembayaran Midtrans untuk semua "
                "metode. Kecilkan potongannya."
            )
    return ""


@dataclass(frozen=True)
class PriceQuote:
    """What the checkout shows before ordering: `error` is the promo's customer-facing
    problem ("" = the code applies, or no code was given)."""

    base_amount: int
    discount_amount: int
    promo_code: str
    error: str

    @property
    def total(self) -> int:
        return self.base_amount - self.discount_amount


def _promo_check(*, promo: PromoCode | None, package: Package, now: datetime) -> PromoCode:
    """Raises `PromoInvalid` with the customer-facing reason when the promo does not apply."""
    if promo is None or not promo.is_active:
        raise PromoInvalid("Kode promo tidak ditemukan.")
    if promo.valid_from is not None and now < promo.valid_from:
        raise PromoInvalid("Kode promo belum berlaku.")
    if promo.valid_until is not None and now >= promo.valid_until:
        raise PromoInvalid("Kode promo sudah berakhir.")
    if promo.max_uses is not None and promo.used_count >= promo.max_uses:
        raise PromoInvalid("Kuota kode promo sudah habis.")
    if promo.packages.exists() and not promo.packages.filter(pk=package.pk).exists():
        raise PromoInvalid("Kode promo tidak berlaku untuk paket ini.")
    return promo


def price_quote(*, package: Package, promo_code: str, now: datetime | None = None) -> PriceQuote:
    """The price a customer would pay now, without reserving a promo use (a preview: the
    order's own transaction re-checks and counts the use under the row lock)."""
    code = promo_code.strip().upper()
    if not code:
        return PriceQuote(package.price, 0, "", "")
    promo = PromoCode.objects.filter(code__iexact=code).first()
    try:
        _promo_check(promo=promo, package=package, now=now or timezone.now())
    except PromoInvalid as exc:
        return PriceQuote(package.price, 0, code, exc.message)
    assert promo is not None
    return PriceQuote(
        package.price, promo_discount(promo=promo, base_amount=package.price), promo.code, ""
    )


def _promo_reserve(*, code: str, package: Package, now: datetime) -> PromoCode:
    """Lock the promo row, check that it applies, and count one use. Runs inside the order's
    transaction, so a rolled-back order gives the use back.

    Raises `PromoInvalid` with the customer-facing reason."""
    promo = _promo_check(
        promo=PromoCode.objects.select_for_update().filter(code__iexact=code).first(),
        package=package,
        now=now,
    )
    promo.used_count += 1
    promo.save(update_fields=["used_count"])
    return promo


def package_for_checkout(*, package_code: str) -> Package:
    """The package a customer may buy now. Raises `PackageUnavailable`."""
    package = (
        Package.objects.select_related("course")
        .filter(code=package_code, is_active=True, course__is_active=True)
        .first()
    )
    if package is None:
        raise PackageUnavailable("Paket tidak ditemukan atau sudah tidak dijual.")
    return package


def checkout_create_order(
    *,
    package_code: str,
    customer_name: str,
    customer_email: str,
    customer_phone: str,
    payment_method: str,
    promo_code: str,
    idempotency_key: str,
    ip_address: str | None,
    user_agent: str,
    now: datetime | None = None,
    on_insert: Callable[[Order], object] | None = None,
    key_checked: bool = False,
) -> Order:
    """Create a CREATED order for already-normalised customer input (see `orders.validators`).

    Guarantees: the amounts are a snapshot of the package price and the promo at this moment
    (`final_amount = base_amount - discount_amount >= 1`); a promo use is counted under the
    promo row lock in the same transaction as the order, so `used_count` never exceeds
    `max_uses` and a failed order uses nothing; `expires_at = now + ORDER_TTL_MINUTES`.

    Idempotent: a second call with the same `idempotency_key` returns the first order, whatever
    its other arguments (the unique constraint decides, so concurrent duplicates also get the
    first order). The order id is regenerated on the rare primary-key collision.

    `on_insert(order)` runs inside the new order's transaction, after its insert (payments
    records the first attempt there, so it commits with the order); it does not run for an
    order that existed. `key_checked`: the caller has just looked `idempotency_key` up and
    found nothing (the unique constraint still catches a concurrent duplicate).

    Raises `PackageUnavailable` or `PromoInvalid` (nothing written)."""
    now = now or timezone.now()
    if (
        idempotency_key
        and not key_checked
        and (existing := _order_by_idempotency_key(idempotency_key))
    ):
        return existing
    package = package_for_checkout(package_code=package_code)
    for _ in range(ORDER_ID_ATTEMPTS):
        order_id = generate_order_id(now)
        try:
            return _order_insert(
                order_id=order_id,
                package=package,
                customer_name=customer_name,
                customer_email=customer_email,
                customer_phone=customer_phone,
                payment_method=payment_method,
                promo_code=promo_code,
                idempotency_key=idempotency_key or None,
                ip_address=ip_address,
                user_agent=user_agent,
                now=now,
                on_insert=on_insert,
            )
        except IntegrityError:
            if idempotency_key and (existing := _order_by_idempotency_key(idempotency_key)):
                return existing
            if not Order.objects.filter(order_id=order_id).exists():
                raise
            logger.warning("order id collision on %s; generating another", order_id)
    raise RuntimeError(f"no free order id after {ORDER_ID_ATTEMPTS} attempts")


def _order_by_idempotency_key(key: str) -> Order | None:
    return Order.objects.filter(idempotency_key=key).first()


@transaction.atomic
def _order_insert(
    *,
    order_id: str,
    package: Package,
    customer_name: str,
    customer_email: str,
    customer_phone: str,
    payment_method: str,
    promo_code: str,
    idempotency_key: str | None,
    ip_address: str | None,
    user_agent: str,
    now: datetime,
    on_insert: Callable[[Order], object] | None,
) -> Order:
    promo = _promo_reserve(code=promo_code, package=package, now=now) if promo_code else None
    discount = promo_discount(promo=promo, base_amount=package.price) if promo else 0
    order = Order.objects.create(
        order_id=order_id,
        package=package,
        package_code=package.code,
        package_name=package.name,
        base_amount=package.price,
        promo_code=promo,
        discount_code=promo.code if promo else "",
        discount_amount=discount,
        final_amount=package.price - discount,
        payment_method=payment_method,
        customer_name=customer_name,
        customer_email=customer_email,
        customer_phone=customer_phone,
        status=OrderStatus.CREATED,
        idempotency_key=idempotency_key,
        ip_address=ip_address,
        user_agent=user_agent[:300],
        expires_at=now + timedelta(minutes=settings.ORDER_TTL_MINUTES),
    )
    with correlate(order_id):
        audit_record(
            actor=SYSTEM_CHECKOUT,
            action="order_created",
            entity_type="order",
            entity_id=order_id,
            new_value={
                "status": OrderStatus.CREATED,
                "package": package.code,
                "final_amount": order.final_amount,
                "discount_code": order.discount_code,
                "payment_method": payment_method,
            },
            correlation_id=order_id,
            ip_address=ip_address,
            user_agent=user_agent,
        )
        logger.info(
            "order created: package=%s amount=%s method=%s",
            package.code,
            order.final_amount,
            payment_method,
        )
        if on_insert is not None:
            on_insert(order)
    return order
