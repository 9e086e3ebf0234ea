"""Payment attempts and events: view-only for everyone."""

from django.contrib import admin
from django.utils.safestring import SafeString

from buatfilm.formatting import rupiah
from payments.models import PaymentAttempt, PaymentEvent
from supportdesk import labels
from supportdesk.admin.base import (
    ReadOnlyModelAdmin,
    badge,
    badge_with_todo,
    concrete_field_names,
    pretty_json,
    yes_no,
)

# --- Payments --------------------------------------------------------------------------------


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyModelAdmin):
    list_display = (
        "midtrans_order_id",
        "order",
        "status_badge",
        "amount_rp",
        "payment_method",
        "transaction_status",
        "review_flag",
        "created_at",
    )
    list_filter = ("status", "payment_method", "needs_review", "transaction_status", "created_at")
    search_fields = (
        "=midtrans_order_id",
        "=midtrans_transaction_id",
        "order__order_id",
        "va_number",
    )
    list_select_related = ("order",)
    # The Snap token and the redirect URL (which embeds it) let anyone pay or view the Snap page.
    # Booleans are shown as words (`review_flag`): Django's icons paint "no" as a red cross.
    exclude = ("snap_token", "redirect_url", "payment_details", "needs_review")
    readonly_fields = (
        *concrete_field_names(PaymentAttempt, exclude=exclude),
        "review_flag",
        "has_snap_token",
        "details",
    )

    @admin.display(description="Jumlah", ordering="amount")
    def amount_rp(self, obj: PaymentAttempt) -> str:
        return rupiah(obj.amount)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: PaymentAttempt) -> SafeString:
        return badge(labels.attempt_status(obj.status))

    @admin.display(description="Perlu dicek", ordering="needs_review")
    def review_flag(self, obj: PaymentAttempt) -> SafeString:
        return yes_no(obj.needs_review, yes="Perlu dicek", no="Tidak", bad=True)

    @admin.display(description="Snap dibuat")
    def has_snap_token(self, obj: PaymentAttempt) -> SafeString:
        return yes_no(bool(obj.snap_token), yes="Ya", no="Belum")

    @admin.display(description="Detail pembayaran")
    def details(self, obj: PaymentAttempt) -> SafeString:
        return pretty_json(obj.payment_details)


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "received_at",
        "midtrans_order_id",
        "order",
        "source",
        "transaction_status",
        "status_code",
        "gross_amount",
        "signature_flag",
        "outcome_words",
    )
    list_filter = (
        "source",
        "transaction_status",
        "signature_valid",
        "outcome",
        "received_at",
    )
    search_fields = ("=midtrans_order_id", "=transaction_id", "order__order_id", "idempotency_key")
    list_select_related = ("order",)
    date_hierarchy = "received_at"
    exclude = ("raw_payload", "signature_valid")
    readonly_fields = (
        "outcome_explained",
        *concrete_field_names(PaymentEvent, exclude=exclude),
        "signature_flag",
        "payload",
    )

    @admin.display(description="Payload (tanpa rahasia)")
    def payload(self, obj: PaymentEvent) -> SafeString:
        return pretty_json(obj.raw_payload)

    @admin.display(description="Tanda tangan", ordering="signature_valid")
    def signature_flag(self, obj: PaymentEvent) -> SafeString:
        return yes_no(obj.signature_valid, yes="Sah", no="Tidak sah", bad=False)

    @admin.display(description="Hasil", ordering="outcome")
    def outcome_words(self, obj: PaymentEvent) -> SafeString:
        return badge(labels.outcome(obj.outcome))

    @admin.display(description="Hasil dan yang perlu dilakukan")
    def outcome_explained(self, obj: PaymentEvent) -> SafeString:
        return badge_with_todo(labels.outcome(obj.outcome))
