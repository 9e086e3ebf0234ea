"""Orders and promo codes. `Order.status` is written only by `orders.services.order_transition`."""

import secrets

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper


class OrderStatus(models.TextChoices):
    CREATED = "CREATED", "Dibuat"
    PENDING_PAYMENT = "PENDING_PAYMENT", "Menunggu pembayaran"
    PAID = "PAID", "Lunas"
    FAILED = "FAILED", "Gagal"
    EXPIRED = "EXPIRED", "Kedaluwarsa"
    REFUNDED = "REFUNDED", "Dikembalikan"


class PaymentMethod(models.TextChoices):
    """Values are Midtrans Snap `enabled_payments` codes (there is no `mandiri_va`)."""

    BCA_VA = "bca_va", "Virtual Account BCA"
    BNI_VA = "bni_va", "Virtual Account BNI"
    MANDIRI_BILL = "echannel", "Mandiri Bill Payment"
    GOPAY = "gopay", "GoPay"
    SHOPEEPAY = "shopeepay", "ShopeePay"
    DANA = "dana", "DANA"
    QRIS = "other_qris", "QRIS"


def new_access_key() -> str:
    # 256 bits, URL-safe: the only secret that opens an order's status page and API.
    return secrets.token_urlsafe(32)


class PromoCode(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "PERCENT", "Persen"
        FIXED = "FIXED", "Potongan tetap (Rp)"

    code = models.CharField(
        verbose_name="kode", max_length=40, unique=True, help_text="Disimpan dalam huruf besar."
    )
    kind = models.CharField(verbose_name="jenis", max_length=8, choices=Kind.choices)
    value = models.PositiveIntegerField(
        verbose_name="nilai", help_text="Persen (1-100) atau rupiah."
    )
    packages = models.ManyToManyField(
        "courses.Package",
        blank=True,
        help_text="Kosong = berlaku untuk semua paket.",
        verbose_name="paket",
    )
    valid_from = models.DateTimeField(verbose_name="berlaku mulai", null=True, blank=True)
    valid_until = models.DateTimeField(verbose_name="berlaku sampai", null=True, blank=True)
    max_uses = models.PositiveIntegerField(
        verbose_name="batas pemakaian", null=True, blank=True, help_text="Kosong = tanpa batas."
    )
    used_count = models.PositiveIntegerField(verbose_name="sudah dipakai", default=0)
    is_active = models.BooleanField(verbose_name="aktif", default=True)
    created_at = models.DateTimeField(verbose_name="dibuat", auto_now_add=True)

    class Meta:
        verbose_name = "kode promo"
        verbose_name_plural = "kode promo"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="promo_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="PERCENT") | Q(value__lte=100), name="promo_percent_max_100"
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(used_count__lte=models.F("max_uses")),
                name="promo_usage_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Order(models.Model):
    order_id = models.CharField(verbose_name="order id", max_length=32, primary_key=True)
    access_key = models.CharField(
        verbose_name="kunci akses", max_length=64, unique=True, default=new_access_key
    )

    package = models.ForeignKey(
        "courses.Package", verbose_name="paket", on_delete=models.PROTECT, related_name="orders"
    )
    # Snapshots: what the customer saw and agreed to pay, whatever happens to the package later.
    package_code = models.CharField(verbose_name="kode paket", max_length=40)
    package_name = models.CharField(verbose_name="nama paket", max_length=120)
    base_amount = models.PositiveIntegerField(verbose_name="harga paket")
    promo_code = models.ForeignKey(
        PromoCode,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name="kode promo",
    )
    discount_code = models.CharField(verbose_name="kode diskon", max_length=40, blank=True)
    discount_amount = models.PositiveIntegerField(verbose_name="diskon", default=0)
    final_amount = models.PositiveIntegerField(verbose_name="total")
    currency = models.CharField(verbose_name="mata uang", max_length=3, default="IDR")
    payment_method = models.CharField(
        verbose_name="metode bayar", max_length=16, choices=PaymentMethod.choices
    )

    customer_name = models.CharField(verbose_name="nama pelanggan", max_length=100)
    customer_email = models.EmailField(verbose_name="email pelanggan", max_length=254)
    customer_phone = models.CharField(
        verbose_name="HP pelanggan", max_length=20, help_text="E.164, mis. +628123456789"
    )

    status = models.CharField(
        verbose_name="status",
        max_length=16,
        choices=OrderStatus.choices,
        default=OrderStatus.CREATED,
    )
    status_reason = models.CharField(verbose_name="alasan status", max_length=255, blank=True)
    # One-time form token or API Idempotency-Key: a repeated submit returns the first order.
    idempotency_key = models.CharField(
        verbose_name="kunci idempotensi", max_length=120, unique=True, null=True, blank=True
    )

    ip_address = models.GenericIPAddressField(verbose_name="alamat IP", null=True, blank=True)
    user_agent = models.CharField(verbose_name="user agent", max_length=300, blank=True)

    created_at = models.DateTimeField(verbose_name="dibuat", auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(verbose_name="diubah", auto_now=True)
    expires_at = models.DateTimeField(verbose_name="batas bayar")
    paid_at = models.DateTimeField(verbose_name="lunas", null=True, blank=True)
    failed_at = models.DateTimeField(verbose_name="gagal", null=True, blank=True)
    expired_at = models.DateTimeField(verbose_name="kedaluwarsa", null=True, blank=True)
    refunded_at = models.DateTimeField(verbose_name="dikembalikan", null=True, blank=True)
    # When reconciliation last asked Midtrans about this order (`payments.reconciliation`,
    # written with UPDATE so `updated_at` keeps meaning "the order changed"): the rotation of
    # `orders_to_reconcile`, a plain column instead of a per-candidate subquery.
    last_reconciled_at = models.DateTimeField(
        verbose_name="terakhir direkonsiliasi", null=True, blank=True
    )

    class Meta:
        verbose_name = "order"
        verbose_name_plural = "order"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            models.CheckConstraint(condition=Q(final_amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(final_amount=models.F("base_amount") - models.F("discount_amount")),
                name="order_amount_is_base_minus_discount",
            ),
            models.CheckConstraint(
                condition=~Q(status="PAID") | Q(paid_at__isnull=False),
                name="order_paid_has_paid_at",
            ),
        ]
        indexes = [
            models.Index(fields=["customer_email"], name="order_email"),
            # Support searches by email in any case (`iexact` is UPPER(..) = UPPER(..)).
            models.Index(Upper("customer_email"), name="order_email_upper"),
            models.Index(fields=["customer_phone"], name="order_phone"),
            models.Index(
                fields=["expires_at"],
                name="order_pending_expiry",
                condition=Q(status="PENDING_PAYMENT"),
            ),
            models.Index(fields=["status", "created_at"], name="order_status_created"),
            # The hourly jobs (daily summary, integrity check) read only the orders changed
            # since their last run.
            models.Index(fields=["updated_at"], name="order_updated"),
            # Reconciliation's late-settlement group: EXPIRED/FAILED orders changed recently.
            models.Index(
                fields=["updated_at"],
                name="order_closed_recently",
                condition=Q(status__in=["EXPIRED", "FAILED"]),
            ),
        ]

    def __str__(self) -> str:
        return self.order_id
