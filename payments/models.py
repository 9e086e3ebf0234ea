"""Payment attempts (one Snap transaction each) and every notification Midtrans sent us."""

from django.db import models
from django.db.models import Q


class AttemptStatus(models.TextChoices):
    CREATED = "CREATED", "Dibuat (Snap belum dibuat)"
    PENDING = "PENDING", "Menunggu pembayaran"
    COMPLETED = "COMPLETED", "Berhasil"
    FAILED = "FAILED", "Gagal"


class PaymentAttempt(models.Model):
    """One Midtrans transaction for an order. Midtrans refuses a reused order id, so each
    attempt has its own `midtrans_order_id` = `<order_id>-<sequence>`."""

    order = models.ForeignKey(
        "orders.Order", verbose_name="order", on_delete=models.PROTECT, related_name="attempts"
    )
    sequence = models.PositiveSmallIntegerField(verbose_name="urutan")
    midtrans_order_id = models.CharField(
        verbose_name="Midtrans order id", max_length=50, unique=True
    )
    provider = models.CharField(verbose_name="penyedia", max_length=16, default="MIDTRANS")
    amount = models.PositiveIntegerField(verbose_name="jumlah")
    payment_method = models.CharField(verbose_name="metode bayar", max_length=16)
    status = models.CharField(
        verbose_name="status",
        max_length=16,
        choices=AttemptStatus.choices,
        default=AttemptStatus.CREATED,
    )

    snap_token = models.CharField(verbose_name="token Snap", max_length=255, blank=True)
    redirect_url = models.URLField(verbose_name="URL Snap", max_length=500, blank=True)
    snap_error = models.TextField(verbose_name="error Snap", blank=True)

    # What Midtrans told us so far (from notifications or status calls).
    midtrans_transaction_id = models.CharField(
        verbose_name="Midtrans transaction id", max_length=64, blank=True, db_index=True
    )
    transaction_status = models.CharField(
        verbose_name="status transaksi Midtrans", max_length=32, blank=True
    )
    fraud_status = models.CharField(verbose_name="status fraud", max_length=16, blank=True)
    payment_type = models.CharField(verbose_name="jenis pembayaran", max_length=32, blank=True)
    va_number = models.CharField(verbose_name="nomor VA", max_length=64, blank=True)
    bank = models.CharField(verbose_name="bank", max_length=32, blank=True)
    bill_key = models.CharField(verbose_name="bill key", max_length=64, blank=True)
    biller_code = models.CharField(verbose_name="biller code", max_length=32, blank=True)
    payment_details = models.JSONField(verbose_name="detail pembayaran", default=dict, blank=True)
    needs_review = models.BooleanField(
        verbose_name="perlu dicek",
        default=False,
        help_text="Fraud challenge: support must look at it in the Midtrans portal.",
    )

    created_at = models.DateTimeField(verbose_name="dibuat", auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name="diubah", auto_now=True)
    completed_at = models.DateTimeField(verbose_name="selesai", null=True, blank=True)
    # When reconciliation last asked Midtrans about this attempt: the rotation that makes
    # every candidate be asked within a bounded number of runs (never-asked first).
    last_reconciled_at = models.DateTimeField(
        verbose_name="terakhir direkonsiliasi", null=True, blank=True
    )

    class Meta:
        verbose_name = "percobaan pembayaran"
        verbose_name_plural = "percobaan pembayaran"
        ordering = ["order", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sequence"], name="attempt_unique_sequence"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="attempt_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=AttemptStatus.values), name="attempt_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="attempt_status_created"),
            # What customers quote to support: the VA number and the Mandiri bill key.
            models.Index(
                fields=["va_number"], name="attempt_va_number", condition=~Q(va_number="")
            ),
            models.Index(fields=["bill_key"], name="attempt_bill_key", condition=~Q(bill_key="")),
        ]

    def __str__(self) -> str:
        return self.midtrans_order_id


class EventSource(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    RECONCILIATION = "reconciliation", "Rekonsiliasi"
    # Recorded by staff with `supportdesk.record_refund` (`payments.refunds`): can confirm a
    # refund, never a payment.
    OFFLINE_REFUND = "offline_refund", "Refund offline (staf)"


class PaymentEvent(models.Model):
    """A verified message from Midtrans, stored before it is applied. The unique
    `idempotency_key` makes a redelivered notification a no-op."""

    idempotency_key = models.CharField(
        verbose_name="kunci idempotensi", max_length=200, unique=True
    )
    source = models.CharField(verbose_name="sumber", max_length=16, choices=EventSource.choices)
    attempt = models.ForeignKey(
        PaymentAttempt,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name="percobaan bayar",
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name="order",
    )
    midtrans_order_id = models.CharField(
        verbose_name="Midtrans order id", max_length=64, db_index=True
    )
    transaction_id = models.CharField(
        verbose_name="Midtrans transaction id", max_length=64, blank=True, db_index=True
    )
    transaction_status = models.CharField(
        verbose_name="status transaksi Midtrans", max_length=32, blank=True
    )
    status_code = models.CharField(verbose_name="kode status", max_length=8, blank=True)
    fraud_status = models.CharField(verbose_name="status fraud", max_length=16, blank=True)
    payment_type = models.CharField(verbose_name="jenis pembayaran", max_length=32, blank=True)
    gross_amount = models.CharField(verbose_name="jumlah (gross)", max_length=32, blank=True)
    # The payload as received, minus `signature_key`: never keep a secret-derived value.
    raw_payload = models.JSONField(verbose_name="payload mentah", default=dict)
    signature_valid = models.BooleanField(verbose_name="tanda tangan sah", default=False)
    remote_ip = models.GenericIPAddressField(verbose_name="IP pengirim", null=True, blank=True)

    # Set in the transaction that stored the event (the body is applied before it commits), so
    # an event is never seen unprocessed; "" would mean exactly that (a crash invariant checks).
    outcome = models.CharField(verbose_name="hasil", max_length=64, blank=True)
    received_at = models.DateTimeField(verbose_name="diterima", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "kabar pembayaran Midtrans"
        verbose_name_plural = "kabar pembayaran Midtrans"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.midtrans_order_id} {self.transaction_status} ({self.source})"
