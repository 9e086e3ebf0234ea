"""`orders.checkout.checkout_create_order`: amounts, promo rules, idempotency, order ids."""

from datetime import timedelta

import pytest
from django.utils import timezone

from buatfilm.testing import run_concurrently
from courses.tests.factories import PackageFactory
from orders import checkout
from orders.checkout import (
    METHOD_MINIMUM_AMOUNT,
    PAYABLE_MINIMUM,
    PackageUnavailable,
    PromoInvalid,
    checkout_create_order,
    price_quote,
    promo_discount,
    promo_floor_problem,
)
from orders.models import Order, OrderStatus, PaymentMethod, PromoCode
from supportdesk.models import AuditLog

pytestmark = pytest.mark.django_db


def promo(**kwargs) -> PromoCode:
    defaults = {"code": "HEMAT10", "kind": PromoCode.Kind.PERCENT, "value": 10}
    return PromoCode.objects.create(**(defaults | kwargs))


def create(**kwargs) -> Order:
    args = {
        "package_code": "pro",
        "customer_name": "Budi Santoso",
        "customer_email": "budi@example.com",
        "customer_phone": "+6281234567890",
        "payment_method": "gopay",
        "promo_code": "",
        "idempotency_key": "",
        "ip_address": "203.0.113.7",
        "user_agent": "pytest",
    }
    return checkout_create_order(**(args | kwargs))


def test_creates_a_created_order_with_a_price_snapshot(package, settings):
    settings.ORDER_TTL_MINUTES = 24 * 60
    now = timezone.now()
    order = create(now=now, idempotency_key="form:abc")

    assert order.status == OrderStatus.CREATED
    assert order.order_id.startswith("BF-")
    assert (order.package_code, order.package_name) == ("pro", "Paket Pro")
    assert (order.base_amount, order.discount_amount, order.final_amount) == (499_000, 0, 499_000)
    assert order.expires_at == now + timedelta(hours=24)
    assert order.payment_method == "gopay"
    assert order.idempotency_key == "form:abc"
    assert (order.ip_address, order.user_agent) == ("203.0.113.7", "pytest")
    assert len(order.access_key) >= 43  # 256 bits
    audit = AuditLog.objects.get(entity_id=order.order_id, action="order_created")
    assert audit.new_value["final_amount"] == 499_000
    assert "budi@example.com" not in str(audit.new_value)

    package.price = 599_000
    package.save()
    order.refresh_from_db()
    assert order.final_amount == 499_000  # a snapshot, not a reference


def test_same_idempotency_key_returns_the_first_order(package):
    code = promo(max_uses=10)
    first = create(idempotency_key="form:same", promo_code="HEMAT10")
    again = create(idempotency_key="form:same", promo_code="HEMAT10", customer_name="Lain Lagi")

    assert again.pk == first.pk
    assert Order.objects.count() == 1
    code.refresh_from_db()
    assert code.used_count == 1


def test_orders_without_a_key_are_independent(package):
    assert create().pk != create().pk


def test_order_id_collision_is_retried(package, monkeypatch):
    existing = create()
    ids = iter([existing.order_id, "BF-20260101-ABCDEF"])
    monkeypatch.setattr(checkout, "generate_order_id", lambda now=None: next(ids))

    order = create()

    assert order.order_id == "BF-20260101-ABCDEF"
    assert Order.objects.count() == 2


def test_unknown_and_inactive_packages_are_refused(package):
    with pytest.raises(PackageUnavailable):
        create(package_code="nope")
    package.is_active = False
    package.save()
    with pytest.raises(PackageUnavailable):
        create()
    assert not Order.objects.exists()


def test_a_package_of_an_inactive_course_is_refused(package):
    package.course.is_active = False
    package.course.save()
    with pytest.raises(PackageUnavailable, match="tidak ditemukan"):
        create()


# --- promo codes --------------------------------------------------------------------------


def test_percent_promo_is_case_insensitive_and_counted(package):
    code = promo(code="HEMAT10", value=10, max_uses=5)

    order = create(promo_code="hemat10")

    assert order.promo_code == code
    assert (order.discount_code, order.discount_amount, order.final_amount) == (
        "HEMAT10",
        49_900,
        449_100,
    )
    code.refresh_from_db()
    assert code.used_count == 1


def test_percent_promo_rounds_to_whole_rupiah(package):
    package.price = 299_999
    package.save()
    promo(value=15)
    order = create(promo_code="HEMAT10")
    assert order.discount_amount == 45_000  # 44 999.85 rounded
    assert order.final_amount == 254_999


def test_fixed_promo(package):
    promo(code="POTONG50", kind=PromoCode.Kind.FIXED, value=50_000)
    order = create(promo_code="POTONG50")
    assert (order.discount_amount, order.final_amount) == (50_000, 449_000)


def test_a_discount_never_goes_below_the_payable_minimum(package):
    # Issue 13: not "Rp 1" any more, but the smallest amount every method can be paid with
    # (a retry may switch to a bank VA, whose minimum is Rp 10.000).
    promo(code="GRATIS", kind=PromoCode.Kind.FIXED, value=1_000_000)
    promo(code="SERATUS", kind=PromoCode.Kind.PERCENT, value=100)
    assert create(promo_code="GRATIS").final_amount == PAYABLE_MINIMUM == 10_000
    assert create(promo_code="SERATUS").final_amount == PAYABLE_MINIMUM


def test_the_minimum_amount_rule_per_method():
    assert METHOD_MINIMUM_AMOUNT["bca_va"] == METHOD_MINIMUM_AMOUNT["echannel"] == 10_000
    assert METHOD_MINIMUM_AMOUNT["other_qris"] == METHOD_MINIMUM_AMOUNT["gopay"] == 1
    assert set(METHOD_MINIMUM_AMOUNT) == set(PaymentMethod.values)
    cheap = PromoCode(kind=PromoCode.Kind.FIXED, value=5_000)
    assert promo_discount(promo=cheap, base_amount=12_000) == 2_000
    assert promo_discount(promo=cheap, base_amount=9_000) == 0
    assert promo_discount(promo=cheap, base_amount=499_000) == 5_000
    assert promo_floor_problem(kind="PERCENT", value=100, prices=[499_000])
    assert promo_floor_problem(kind="FIXED", value=490_000, prices=[99_000, 499_000])
    assert promo_floor_problem(kind="PERCENT", value=50, prices=[99_000, 499_000]) == ""


def test_price_quote_previews_without_counting_a_use(package):
    code = promo(code="HEMAT10", max_uses=5)
    quote = price_quote(package=package, promo_code="hemat10")
    assert (quote.base_amount, quote.discount_amount, quote.total, quote.error) == (
        499_000,
        49_900,
        449_100,
        "",
    )
    code.refresh_from_db()
    assert code.used_count == 0
    bad = price_quote(package=package, promo_code="NOPE")
    assert bad.total == 499_000 and bad.error == "Kode promo tidak ditemukan."


def test_promo_limited_to_packages(package):
    other = PackageFactory(code="starter")
    code = promo()
    code.packages.add(package)
    assert create(promo_code="HEMAT10").discount_amount == 49_900
    with pytest.raises(PromoInvalid, match="tidak berlaku untuk paket ini"):
        create(package_code=other.code, promo_code="HEMAT10")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"code": "LAIN"}, "Kode promo tidak ditemukan."),
        ({"is_active": False}, "Kode promo tidak ditemukan."),
        ({"valid_from": timezone.now() + timedelta(days=1)}, "Kode promo belum berlaku."),
        ({"valid_until": timezone.now() - timedelta(seconds=1)}, "Kode promo sudah berakhir."),
        ({"max_uses": 3, "used_count": 3}, "Kuota kode promo sudah habis."),
    ],
)
def test_invalid_promos_are_refused_with_a_specific_message(package, setup, message):
    code = promo(**setup)
    used = code.used_count

    with pytest.raises(PromoInvalid) as excinfo:
        create(promo_code="HEMAT10")

    assert excinfo.value.message == message
    assert excinfo.value.field == "promo_code"
    assert not Order.objects.exists()
    code.refresh_from_db()
    assert code.used_count == used


def test_promo_within_its_window_applies(package):
    now = timezone.now()
    promo(valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=1))
    assert create(promo_code="HEMAT10", now=now).discount_amount == 49_900


def test_the_last_promo_use_goes_to_one_order(package):
    promo(max_uses=1)
    create(promo_code="HEMAT10")
    with pytest.raises(PromoInvalid, match="Kuota"):
        create(promo_code="HEMAT10")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_never_exceed_the_promo_quota(package):
    code = promo(max_uses=2)

    def buy(n: int) -> str:
        try:
            create(promo_code="HEMAT10", customer_email=f"b{n}@example.com")
        except PromoInvalid as exc:
            return exc.message
        return "ok"

    # An unexpected exception leaves its thread without an outcome, as before.
    outcomes = run_concurrently([lambda n=n: buy(n) for n in range(6)])
    results = [r for r in outcomes if isinstance(r, str)]

    assert sorted(results) == ["Kuota kode promo sudah habis."] * 4 + ["ok"] * 2
    code.refresh_from_db()
    assert code.used_count == 2
    assert Order.objects.filter(promo_code=code).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_with_one_key_create_one_order(package):
    code = promo(max_uses=100)

    def submit() -> str:
        return create(idempotency_key="form:double-click", promo_code="HEMAT10").order_id

    # A thread that raised leaves no order id, as before.
    order_ids = [r for r in run_concurrently([submit] * 8) if isinstance(r, str)]

    assert len(order_ids) == 8 and len(set(order_ids)) == 1
    assert Order.objects.count() == 1
    code.refresh_from_db()
    assert code.used_count == 1  # the losers' uses were rolled back with their inserts
