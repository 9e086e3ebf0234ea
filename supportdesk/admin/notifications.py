"""The notification outbox: view-only, with resend."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.safestring import SafeString

from buatfilm.http import client_ip_or_none as staff_ip
from notifications.models import NotificationOutbox, Template
from supportdesk import labels
from supportdesk.admin.base import (
    MAX_ORDERS_PER_ACTION,
    ReadOnlyModelAdmin,
    badge,
    concrete_field_names,
    pretty_json,
)
from supportdesk.services import (
    PERM_RESEND,
    SupportPermissionDenied,
    support_resend_notification,
)

# --- Notifications ---------------------------------------------------------------------------


@admin.register(NotificationOutbox)
class NotificationOutboxAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "created_at",
        "order",
        "template_name",
        "channel",
        "recipient",
        "status_badge",
        "attempt_count",
        "next_attempt_at",
        "sent_at",
        "resend_of",
    )
    list_filter = (
        "status",
        "channel",
        "template_name",
        ("resend_of", admin.EmptyFieldListFilter),
        "created_at",
    )
    search_fields = ("=order__order_id", "recipient", "provider_message_id", "dedupe_key")
    list_select_related = ("order",)
    date_hierarchy = "created_at"
    actions = ("resend_selected",)
    exclude = ("context", "error_history")
    readonly_fields = (
        *concrete_field_names(NotificationOutbox, exclude=("context", "error_history")),
        "context_shown",
        "errors_shown",
    )

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: NotificationOutbox) -> SafeString:
        return badge(labels.outbox_status(obj.status))

    @admin.display(description="Isi template (tanpa rahasia)")
    def context_shown(self, obj: NotificationOutbox) -> SafeString:
        return pretty_json(obj.context)

    @admin.display(description="Riwayat error")
    def errors_shown(self, obj: NotificationOutbox) -> SafeString:
        return pretty_json(obj.error_history)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_RESEND)

    @admin.action(description="Kirim ulang pesan terpilih", permissions=("resend",))
    def resend_selected(
        self, request: HttpRequest, queryset: QuerySet[NotificationOutbox]
    ) -> HttpResponse | None:
        if not self.has_resend_permission(request):
            raise PermissionDenied
        rows = list(queryset.order_by("id")[: MAX_ORDERS_PER_ACTION + 1])
        if len(rows) > MAX_ORDERS_PER_ACTION:
            self.message_user(
                request,
                f"Pilih paling banyak {MAX_ORDERS_PER_ACTION} pesan sekaligus.",
                messages.ERROR,
            )
            return None
        for row in rows:
            if row.order_id is None or row.resend_of_id or row.template_name == Template.OPS_ALERT:
                self.message_user(
                    request,
                    f"Outbox #{row.pk} dilewati: hanya pesan otomatis ke pelanggan yang bisa "
                    "dikirim ulang (bukan salinan kirim ulang, bukan peringatan ops).",
                    messages.WARNING,
                )
                continue
            try:
                new_row = support_resend_notification(
                    original_id=row.pk, user=request.user, ip_address=staff_ip(request)
                )
            except SupportPermissionDenied as exc:
                raise PermissionDenied from exc
            except ValueError as exc:
                self.message_user(request, f"Outbox #{row.pk}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"Outbox #{row.pk} ({row.template_name}/{row.channel}) masuk antrean kirim "
                f"ulang sebagai #{new_row.pk}.",
                messages.SUCCESS,
            )
        return None
