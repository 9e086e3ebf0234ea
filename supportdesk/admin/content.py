"""Shop pages and FAQ: editable by content editors, changes live without a deploy."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from content.models import FaqItem, ShopPage


@admin.register(ShopPage)
class ShopPageAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "updated_at")
    fields = ("slug", "title", "body", "updated_at")
    readonly_fields = ("updated_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The slug is the page's address, linked from every footer: fixed once created.
        return ("slug", "updated_at") if obj else ("updated_at",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the footer links to every page; edit the text instead


@admin.register(FaqItem)
class FaqItemAdmin(admin.ModelAdmin):
    list_display = ("question", "position", "is_published")
    list_editable = ("position", "is_published")
    list_filter = ("is_published",)
    search_fields = ("question", "answer")
