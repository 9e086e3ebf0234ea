"""The notification outbox: rows written in the same transaction as the change that causes
them, delivered at least once by workers that lease them."""

from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    EMAIL = "EMAIL", "Email"
    WHATSAPP = "WHATSAPP", "WhatsApp"


class Template(models.TextChoices):
    PAYMENT_INSTRUCTION = "payment_instruction", "Instruksi pembayaran"
    PAYMENT_REMINDER = "payment_reminder", "Pengingat pembayaran"
    PAYMENT_SUCCESS_ACCESS = "payment_success_access", "Pembayaran berhasil + akses"
    PAYMENT_FAILED = "payment_failed", "Pembayaran gagal"
    PAYMENT_ATTEMPT_FAILED = "payment_attempt_failed", "Percobaan bayar gagal (bisa coba lagi)"
    PAYMENT_DETAILS = "payment_details", "Nomor VA / kode bayar terbit"
    ORDER_EXPIRED = "order_expired", "Pesanan kedaluwarsa"
    ORDER_REFUNDED = "order_refunded", "Dana dikembalikan"
    OPS_ALERT = "ops_alert", "Peringatan ops"
    LOGIN_LINK = "login_link", "Link masuk"


class OutboxStatus(models.TextChoices):
    PENDING = "PENDING", "Menunggu"
    SENDING = "SENDING", "Sedang dikirim"
    SENT = "SENT", "Terkirim"
    RETRYING = "RETRYING", "Akan dicoba lagi"
    DLQ = "DLQ", "Dead letter"
    # Never sent: its reason was gone when a worker picked it up (e.g. a payment reminder for
    # an order that is PAID by then), or it had no recipient to go to (`last_error` says which).
    CANCELLED = "CANCELLED", "Dibatalkan (tidak relevan lagi)"


class NotificationOutbox(models.Model):
    order = models.ForeignKey(
        "orders.Order",
        verbose_name="order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    channel = models.CharField(verbose_name="kanal", max_length=16, choices=Channel.choices)
    template_name = models.CharField(
        verbose_name="template", max_length=40, choices=Template.choices
    )
    recipient = models.CharField(verbose_name="penerima", max_length=254)
    # Everything the template needs, frozen at creation so a retry sends the same content.
    context = models.JSONField(verbose_name="isi template", default=dict)
    # Ops alerts are not one-per-order: they are deduplicated by their own key.
    dedupe_key = models.CharField(
        verbose_name="kunci dedupe", max_length=200, unique=True, null=True, blank=True
    )
    resend_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resends",
        verbose_name="kirim ulang dari",
    )
    requested_by = models.CharField(verbose_name="diminta oleh", max_length=150, blank=True)
    # The relevance rule, written by the code that queues the row: the order statuses in which
    # this message still makes sense. Checked when a worker claims the row; empty = always.
    valid_order_statuses = models.JSONField(
        verbose_name="relevan untuk status order", default=list, blank=True
    )

    status = models.CharField(
        verbose_name="status",
        max_length=16,
        choices=OutboxStatus.choices,
        default=OutboxStatus.PENDING,
    )
    attempt_count = models.PositiveSmallIntegerField(verbose_name="jumlah percobaan", default=0)
    max_attempts = models.PositiveSmallIntegerField(verbose_name="batas percobaan", default=5)
    next_attempt_at = models.DateTimeField(verbose_name="percobaan berikut", null=True, blank=True)
    locked_until = models.DateTimeField(verbose_name="dikunci sampai", null=True, blank=True)
    locked_by = models.CharField(verbose_name="dikunci oleh", max_length=100, blank=True)
    provider_message_id = models.CharField(
        verbose_name="id pesan penyedia", max_length=255, blank=True
    )
    last_error = models.TextField(verbose_name="error terakhir", blank=True)
    error_history = models.JSONField(verbose_name="riwayat error", default=list, blank=True)

    created_at = models.DateTimeField(verbose_name="dibuat", auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name="diubah", auto_now=True)
    sent_at = models.DateTimeField(verbose_name="terkirim", null=True, blank=True)

    # Not a column: when (time.monotonic()) a worker claimed the row, set on the rows
    # `notifications.services._claim` returns.
    claimed_at: float

    class Meta:
        verbose_name = "pesan keluar (outbox)"
        verbose_name_plural = "pesan keluar (outbox)"
        ordering = ["-created_at"]
        constraints = [
            # One automatic message per (order, channel, template); resends point at the
            # original and are outside the constraint. Ops alerts carry their own `dedupe_key`
            # (one order can raise several different alerts) and are outside it too.
            models.UniqueConstraint(
                fields=["order", "channel", "template_name"],
                condition=Q(resend_of__isnull=True, order__isnull=False, dedupe_key__isnull=True),
                name="outbox_one_automatic_per_order",
            ),
            models.CheckConstraint(
                condition=Q(status__in=OutboxStatus.values), name="outbox_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="outbox_channel_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due",
                condition=Q(status__in=["PENDING", "RETRYING"]),
            ),
            models.Index(
                fields=["locked_until"], name="outbox_leased", condition=Q(status="SENDING")
            ),
            # The claim walks this in id order (oldest first) and stops at its batch: the rows
            # a worker may take, never the delivered history. `_due` names the statuses so the
            # planner can prove the index applies.
            models.Index(
                fields=["id"],
                name="outbox_claimable",
                condition=Q(status__in=["PENDING", "RETRYING", "SENDING"]),
            ),
            models.Index(fields=["channel", "status"], name="outbox_backlog"),
            # The dashboard's backlog and DLQ count (its statuses, CANCELLED included): never
            # the millions SENT, so the partial index stays as small as the backlog.
            models.Index(
                fields=["channel", "status", "created_at"],
                name="outbox_undelivered",
                condition=Q(status__in=["PENDING", "SENDING", "RETRYING", "CANCELLED", "DLQ"]),
            ),
            # The dashboard's recent ops alerts, newest first.
            models.Index(
                fields=["-created_at"],
                name="outbox_ops_alerts",
                condition=Q(template_name="ops_alert"),
            ),
            # Lease takeovers (the duplicate-notification metric): retried rows only.
            models.Index(fields=["order"], name="outbox_retried", condition=Q(attempt_count__gt=1)),
        ]

    def __str__(self) -> str:
        return f"{self.template_name}/{self.channel} → {self.order_id or self.recipient}"
