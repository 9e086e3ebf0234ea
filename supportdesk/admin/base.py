"""Building blocks of the support admin: read-only model admins and inlines, badges."""

import json
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString

from supportdesk import selectors
from supportdesk.labels import Label

# One staff click must not turn into hundreds of Midtrans calls.
MAX_ORDERS_PER_ACTION = 20


def badge(label: Label) -> SafeString:
    """A coloured status word; hovering shows what support should do. Colours are CSS classes
    (static/css/admin-support.css): no inline style, the CSP allows none."""
    return format_html(
        '<span class="bf-badge bf-tone-{}" title="{}">{}</span>', label.tone, label.todo, label.text
    )


def badge_with_todo(label: Label) -> SafeString:
    """The badge and, beside it, the one line saying what support should do."""
    return format_html('{} <span class="bf-todo">{}</span>', badge(label), label.todo)


def yes_no(
    value: bool, *, yes: str = "Ya", no: str = "Tidak", bad: bool | None = None
) -> SafeString:
    """A boolean as a word. Only the value that is a problem (`bad`) is red; Django's own
    boolean icons paint every False as a red cross, which reads as an error when it is not."""
    tone = "bad" if bad is not None and value == bad else ("ok" if value else "muted")
    return format_html('<span class="bf-flag bf-tone-{}">{}</span>', tone, yes if value else no)


def pretty_json(value: object) -> SafeString:
    """A JSON value as indented text, secrets redacted (see `selectors.redact_secrets`)."""
    text = json.dumps(
        selectors.redact_secrets(value), indent=2, ensure_ascii=False, sort_keys=True, default=str
    )
    return format_html('<pre class="bf-json">{}</pre>', text)


def concrete_field_names(model: Any, *, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(f.name for f in model._meta.concrete_fields if f.name not in exclude)


# --- Read-only building blocks ---------------------------------------------------------------


# Below this many rows an unfiltered changelist is counted exactly.
ESTIMATE_COUNT_ABOVE = 100_000


class EstimatedCountPaginator(Paginator):
    """A changelist needs a row count for its page links, and `COUNT(*)` over the whole table
    is the one part of the page that grows with the shop's history (2x from 10k to 1M
    orders). Unfiltered on PostgreSQL, a big table's count is its planner estimate
    (`pg_class.reltuples`, kept by autovacuum/ANALYZE, within a few percent); filtered or
    searched lists, and small tables, are counted exactly. A page link past the real end
    lands on Django's "invalid page" redirect to the first page."""

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if (
            isinstance(rows, QuerySet)
            and not rows.query.where
            and connection.vendor == "postgresql"
        ):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [rows.model._meta.db_table],
                )
                estimate = cursor.fetchone()
            if estimate and estimate[0] > ESTIMATE_COUNT_ABOVE:
                return int(estimate[0])
        return int(super().count)


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """View-only for everyone who may view, superusers included. Django then renders every
    field read-only, builds the form with no fields and answers 403 to any POST on the change
    view; no add or delete view works and the bulk delete action is gone. The big tables'
    changelists count by estimate when unfiltered (`EstimatedCountPaginator`)."""

    paginator = EstimatedCountPaginator

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
