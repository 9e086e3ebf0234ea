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

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="attempts")
    sequence = models.PositiveSmallIntegerField()
    midtrans_order_id = models.CharField(max_length=50, unique=True)
    provider = models.CharField(max_length=16, default="MIDTRANS")
    amount = models.PositiveIntegerField()
    payment_method = models.CharField(max_length=16)
    status = models.CharField(
        max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.CREATED
    )

    snap_token = models.CharField(max_length=255, blank=True)
    redirect_url = models.URLField(max_length=500, blank=True)
    snap_error = models.TextField(blank=True)

    # What Midtrans told us so far (from notifications or status calls).
    midtrans_transaction_id = models.CharField(max_length=64, blank=True, db_index=True)
    transaction_status = models.CharField(max_length=32, blank=True)
    fraud_status = models.CharField(max_length=16, blank=True)
    payment_type = models.CharField(max_length=32, blank=True)
    va_number = models.CharField(max_length=64, blank=True)
    bank = models.CharField(max_length=32, blank=True)
    bill_key = models.CharField(max_length=64, blank=True)
    biller_code = models.CharField(max_length=32, blank=True)
    payment_details = models.JSONField(default=dict, blank=True)
    needs_review = models.BooleanField(
        default=False, help_text="Fraud challenge: support must look at it in the Midtrans portal."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sequence"], name="attempt_unique_sequence"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="attempt_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=AttemptStatus.values), name="attempt_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="attempt_status_created")]

    def __str__(self) -> str:
        return self.midtrans_order_id


class EventSource(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    RECONCILIATION = "reconciliation", "Rekonsiliasi"


class PaymentEvent(models.Model):
    """A verified message from Midtrans, stored before it is applied. The unique
    `idempotency_key` makes a redelivered notification a no-op."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=16, choices=EventSource.choices)
    attempt = models.ForeignKey(
        PaymentAttempt, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    midtrans_order_id = models.CharField(max_length=64, db_index=True)
    transaction_id = models.CharField(max_length=64, blank=True, db_index=True)
    transaction_status = models.CharField(max_length=32, blank=True)
    status_code = models.CharField(max_length=8, blank=True)
    fraud_status = models.CharField(max_length=16, blank=True)
    payment_type = models.CharField(max_length=32, blank=True)
    gross_amount = models.CharField(max_length=32, blank=True)
    # The payload as received, minus `signature_key`: never keep a secret-derived value.
    raw_payload = models.JSONField(default=dict)
    signature_valid = models.BooleanField(default=False)
    remote_ip = models.GenericIPAddressField(null=True, blank=True)

    processed = models.BooleanField(default=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=64, blank=True)
    processing_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(
                fields=["received_at"], name="event_unprocessed", condition=Q(processed=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.midtrans_order_id} {self.transaction_status} ({self.source})"
