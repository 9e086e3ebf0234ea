"""Payment attempts and events: view-only for everyone."""

from django.contrib import admin
from django.utils.safestring import SafeString

from buatfilm.formatting import rupiah
from payments.models import PaymentAttempt, PaymentEvent
from supportdesk.admin.base import ReadOnlyModelAdmin, concrete_field_names, pretty_json

# --- Payments --------------------------------------------------------------------------------


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnlyModelAdmin):
    list_display = (
        "midtrans_order_id",
        "order",
        "status",
        "amount_rp",
        "payment_method",
        "transaction_status",
        "needs_review",
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
    exclude = ("snap_token", "redirect_url", "payment_details")
    readonly_fields = (
        *concrete_field_names(
            PaymentAttempt, exclude=("snap_token", "redirect_url", "payment_details")
        ),
        "has_snap_token",
        "details",
    )

    @admin.display(description="Jumlah", ordering="amount")
    def amount_rp(self, obj: PaymentAttempt) -> str:
        return rupiah(obj.amount)

    @admin.display(description="Snap dibuat", boolean=True)
    def has_snap_token(self, obj: PaymentAttempt) -> bool:
        return bool(obj.snap_token)

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
        "signature_valid",
        "processed",
        "outcome",
    )
    list_filter = (
        "source",
        "transaction_status",
        "processed",
        "signature_valid",
        "outcome",
        "received_at",
    )
    search_fields = ("=midtrans_order_id", "=transaction_id", "order__order_id", "idempotency_key")
    list_select_related = ("order",)
    date_hierarchy = "received_at"
    exclude = ("raw_payload",)
    readonly_fields = (*concrete_field_names(PaymentEvent, exclude=("raw_payload",)), "payload")

    @admin.display(description="Payload (tanpa rahasia)")
    def payload(self, obj: PaymentEvent) -> SafeString:
        return pretty_json(obj.raw_payload)
