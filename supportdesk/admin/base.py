"""Building blocks of the support admin: read-only model admins and inlines, badges."""

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from notifications.models import OutboxStatus
from orders.models import OrderStatus
from supportdesk import selectors

# One staff click must not turn into hundreds of Midtrans calls.
MAX_ORDERS_PER_ACTION = 20

STATUS_COLOURS: dict[str, str] = {
    OrderStatus.CREATED: "#6b7280",
    OrderStatus.PENDING_PAYMENT: "#b45309",
    OrderStatus.PAID: "#15803d",
    OrderStatus.FAILED: "#b91c1c",
    OrderStatus.EXPIRED: "#7c2d12",
    OrderStatus.REFUNDED: "#6d28d9",
    OutboxStatus.SENT: "#15803d",
    OutboxStatus.SENDING: "#1d4ed8",
    OutboxStatus.RETRYING: "#b45309",
    OutboxStatus.DLQ: "#b91c1c",
}


def badge(value: str, label: str) -> SafeString:
    colour = STATUS_COLOURS.get(value, "#374151")
    return format_html(
        '<span class="bf-badge" style="background:{};color:#fff;padding:2px 8px;'
        'border-radius:10px;font-size:11px;font-weight:600;white-space:nowrap">{}</span>',
        colour,
        label,
    )


def pretty_json(value: object) -> SafeString:
    """A JSON value as indented text, secrets redacted (see `selectors.redact_secrets`)."""
    text = json.dumps(
        selectors.redact_secrets(value), indent=2, ensure_ascii=False, sort_keys=True, default=str
    )
    return format_html('<pre class="bf-json" style="white-space:pre-wrap;margin:0">{}</pre>', text)


def concrete_field_names(model: Any, *, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(f.name for f in model._meta.concrete_fields if f.name not in exclude)


# --- Read-only building blocks ---------------------------------------------------------------


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """View-only for everyone who may view, superusers included. Django then renders every
    field read-only, builds the form with no fields and answers 403 to any POST on the change
    view; no add or delete view works and the bulk delete action is gone."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
