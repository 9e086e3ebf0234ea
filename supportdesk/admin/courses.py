"""Course access (read-only) and course content (editable by content editors)."""

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from buatfilm.formatting import rupiah
from courses.models import Course, Entitlement, Lesson, Package
from supportdesk import labels
from supportdesk.admin.base import ReadOnlyModelAdmin, badge, concrete_field_names, yes_no

# --- Courses: access (read-only) and content (editable) ----------------------------------------


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyModelAdmin):
    list_display = ("order", "user", "course", "status_badge", "granted_at", "revoked_at")
    list_filter = ("status", "course", "granted_at")
    search_fields = ("=order__order_id", "user__email", "user__username")
    list_select_related = ("order", "user", "course")
    readonly_fields = concrete_field_names(Entitlement)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Entitlement) -> SafeString:
        return badge(labels.entitlement_status(obj.status))


class LessonInline(admin.StackedInline):
    model = Lesson
    extra = 0
    fields = ("position", "title", "slug", "summary", "duration_minutes", "video_url", "body")
    prepopulated_fields = {"slug": ("title",)}
    # A video link typed without a scheme is an https one (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    ordering = ("position",)


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "active_flag", "lesson_count", "package_count")
    list_filter = ("is_active",)
    search_fields = ("title", "slug")
    inlines = (LessonInline,)
    readonly_fields = ("created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                lesson_total=Count("lessons", distinct=True),
                package_total=Count("packages", distinct=True),
            )
        )

    @admin.display(description="Aktif", ordering="is_active")
    def active_flag(self, obj: Course) -> SafeString:
        return yes_no(obj.is_active, yes="Aktif", no="Nonaktif")

    @admin.display(description="Pelajaran", ordering="lesson_total")
    def lesson_count(self, obj: Any) -> int:
        return int(obj.lesson_total)

    @admin.display(description="Paket", ordering="package_total")
    def package_count(self, obj: Any) -> int:
        return int(obj.package_total)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The slug is in course URLs and in the catalog seed: fixed once created.
        return ("slug", "created_at") if obj else ("created_at",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # entitlements point at courses; deactivate instead


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "course", "price_rp", "active_flag", "sort_order")
    list_filter = ("is_active", "course")
    search_fields = ("name", "code")
    list_select_related = ("course",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "course",
                    "code",
                    "name",
                    "description",
                    "features",
                    "price",
                    "is_active",
                    "sort_order",
                ),
                "description": (
                    "Mengubah harga hanya berlaku untuk order baru: setiap order menyimpan "
                    "snapshot harga, jadi order lama tidak ikut berubah."
                ),
            },
        ),
    )

    @admin.display(description="Aktif", ordering="is_active")
    def active_flag(self, obj: Package) -> SafeString:
        return yes_no(obj.is_active, yes="Aktif", no="Nonaktif")

    @admin.display(description="Harga", ordering="price")
    def price_rp(self, obj: Package) -> str:
        return rupiah(obj.price)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The code is in checkout URLs and snapshotted into orders: fixed once created.
        return ("code",) if obj else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders point at packages; deactivate instead
