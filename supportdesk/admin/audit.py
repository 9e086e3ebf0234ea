"""The audit trail: append-only, view-only."""

from django.contrib import admin
from django.utils.safestring import SafeString

from supportdesk.admin.base import ReadOnlyModelAdmin, concrete_field_names, pretty_json
from supportdesk.models import AuditLog

# --- Audit trail -----------------------------------------------------------------------------


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at",
        "actor",
        "action",
        "entity_type",
        "entity_id",
        "correlation_id",
        "ip_address",
    )
    list_filter = ("action", "entity_type", "created_at")
    search_fields = ("=entity_id", "=correlation_id", "actor", "action")
    date_hierarchy = "created_at"
    exclude = ("old_value", "new_value")
    readonly_fields = (
        *concrete_field_names(AuditLog, exclude=("old_value", "new_value")),
        "old_shown",
        "new_shown",
    )

    @admin.display(description="Nilai lama")
    def old_shown(self, obj: AuditLog) -> SafeString:
        return pretty_json(obj.old_value)

    @admin.display(description="Nilai baru")
    def new_shown(self, obj: AuditLog) -> SafeString:
        return pretty_json(obj.new_value)
