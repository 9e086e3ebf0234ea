"""Orders (view-only, with the support actions) and promo codes."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from buatfilm.formatting import rupiah
from buatfilm.http import client_ip_or_none as staff_ip
from courses.models import Entitlement
from notifications.models import NotificationOutbox
from orders.models import Order, PromoCode
from payments.models import PaymentAttempt, PaymentEvent
from supportdesk import selectors
from supportdesk.admin.base import (
    MAX_ORDERS_PER_ACTION,
    ReadOnlyInline,
    ReadOnlyModelAdmin,
    badge,
    concrete_field_names,
    pretty_json,
)
from supportdesk.forms import PromoCodeAdminForm, ResendNotificationForm, candidate_label
from supportdesk.services import (
    PERM_RECONCILE,
    PERM_RESEND,
    ReconcileReport,
    SupportPermissionDenied,
    support_reconcile_order,
    support_resend_notification,
)

# --- Order: inlines --------------------------------------------------------------------------


class PaymentAttemptInline(ReadOnlyInline):
    model = PaymentAttempt
    verbose_name_plural = "Percobaan pembayaran (Midtrans)"
    fields = (
        "sequence",
        "midtrans_order_id",
        "status",
        "amount_rp",
        "payment_method",
        "transaction_status",
        "midtrans_transaction_id",
        "va_number",
        "needs_review",
        "snap_error",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="Jumlah")
    def amount_rp(self, obj: PaymentAttempt) -> str:
        return rupiah(obj.amount)


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fk_name = "order"
    verbose_name_plural = "Event pembayaran dari Midtrans"
    fields = (
        "received_at",
        "source",
        "midtrans_order_id",
        "transaction_id",
        "transaction_status",
        "status_code",
        "fraud_status",
        "gross_amount",
        "signature_valid",
        "outcome",
        "processing_error",
        "payload",
    )
    readonly_fields = fields
    ordering = ("received_at", "id")

    @admin.display(description="Payload (tanpa rahasia)")
    def payload(self, obj: PaymentEvent) -> SafeString:
        return pretty_json(obj.raw_payload)


class NotificationOutboxInline(ReadOnlyInline):
    model = NotificationOutbox
    verbose_name_plural = "Notifikasi (outbox)"
    fields = (
        "template_name",
        "channel",
        "recipient",
        "status_badge",
        "attempt_count",
        "created_at",
        "sent_at",
        "resend_of",
        "requested_by",
        "last_error",
    )
    readonly_fields = fields
    ordering = ("created_at", "id")

    @admin.display(description="Status")
    def status_badge(self, obj: NotificationOutbox) -> SafeString:
        return badge(obj.status, obj.get_status_display())


class EntitlementInline(ReadOnlyInline):
    model = Entitlement
    verbose_name_plural = "Akses kursus"
    fields = ("course", "user", "status", "granted_at", "revoked_at", "expires_at")
    readonly_fields = fields


# --- Order -----------------------------------------------------------------------------------


@admin.register(Order)
class OrderAdmin(ReadOnlyModelAdmin):
    list_display = (
        "order_id",
        "status_badge",
        "amount",
        "package_name",
        "method",
        "customer_email",
        "customer_phone",
        "created_at",
        "age",
    )
    list_filter = (
        "status",
        "package",
        ("created_at", admin.DateFieldListFilter),
        "payment_method",
    )
    search_fields = (
        "order_id",
        "customer_email",
        "customer_phone",
        "=attempts__midtrans_order_id",
        "=attempts__midtrans_transaction_id",
        "=events__transaction_id",
    )
    search_help_text = (
        "Cari dengan order id, email, nomor HP (08…, 62… atau +62…), Midtrans order id "
        "(mis. BF-…-1) atau Midtrans transaction id."
    )
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    list_per_page = 50
    actions = ("reconcile_with_midtrans", "resend_notification")
    inlines = (
        PaymentAttemptInline,
        PaymentEventInline,
        NotificationOutboxInline,
        EntitlementInline,
    )
    # `access_key` (opens the customer's status page) and `idempotency_key` are left out on
    # purpose: support never needs them, and screenshots travel.
    fieldsets = (
        (
            "Pesanan",
            {
                "fields": (
                    "order_id",
                    "status_badge",
                    "status_reason",
                    "package",
                    "package_code",
                    "package_name",
                    "payment_method",
                )
            },
        ),
        (
            "Jumlah (snapshot saat order dibuat)",
            {"fields": ("base_rp", "promo_code", "discount_code", "discount_rp", "final_rp")},
        ),
        (
            "Pelanggan",
            {
                "fields": (
                    "customer_name",
                    "customer_email",
                    "customer_phone",
                    "ip_address",
                    "user_agent",
                )
            },
        ),
        (
            "Waktu (WIB)",
            {
                "fields": (
                    "created_at",
                    "expires_at",
                    "paid_at",
                    "failed_at",
                    "expired_at",
                    "refunded_at",
                    "updated_at",
                    "age",
                )
            },
        ),
    )
    readonly_fields = (
        *concrete_field_names(Order, exclude=("access_key", "idempotency_key")),
        "status_badge",
        "base_rp",
        "discount_rp",
        "final_rp",
        "age",
    )

    # -- columns --

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Order) -> SafeString:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="Jumlah", ordering="final_amount")
    def amount(self, obj: Order) -> str:
        return rupiah(obj.final_amount)

    @admin.display(description="Metode", ordering="payment_method")
    def method(self, obj: Order) -> str:
        return obj.get_payment_method_display()

    @admin.display(description="Umur")
    def age(self, obj: Order) -> str:
        return timesince(obj.created_at, timezone.now(), depth=2)

    @admin.display(description="Harga paket")
    def base_rp(self, obj: Order) -> str:
        return rupiah(obj.base_amount)

    @admin.display(description="Diskon")
    def discount_rp(self, obj: Order) -> str:
        return rupiah(obj.discount_amount)

    @admin.display(description="Total dibayar")
    def final_rp(self, obj: Order) -> str:
        return rupiah(obj.final_amount)

    # -- search: phone numbers as support types them --

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if variants := selectors.phone_search_variants(search_term.strip()):
            found = found | queryset.filter(customer_phone__in=variants)
        return found, may_have_duplicates

    # -- permissions of the support actions --

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_RECONCILE)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_RESEND)

    # -- object page --

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/reconcile/",
                view(self.reconcile_view),
                name="orders_order_reconcile",
            ),
            path(
                "<path:object_id>/resend/",
                view(self.resend_view),
                name="orders_order_resend",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = extra_context or {}
        extra_context["can_reconcile"] = self.has_reconcile_permission(request)
        extra_context["can_resend"] = self.has_resend_permission(request)
        if request.user.has_perm("supportdesk.view_auditlog"):
            extra_context["audit_rows"] = selectors.order_audit_rows(order_id=object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def _order_or_404(self, request: HttpRequest, object_id: str) -> Order:
        order = get_object_or_404(Order, order_id=object_id)
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        return order

    def _change_url(self, order_id: str) -> str:
        return reverse("admin:orders_order_change", args=[order_id])

    def reconcile_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: ask Midtrans about this order now, then back to the order page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self._order_or_404(request, object_id)
        if not self.has_reconcile_permission(request):
            raise PermissionDenied
        self._reconcile_and_report(request, order.order_id)
        return HttpResponseRedirect(self._change_url(order.order_id))

    def resend_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: pick one of the order's automatic messages; POST: queue a copy of it."""
        order = self._order_or_404(request, object_id)
        if not self.has_resend_permission(request):
            raise PermissionDenied
        candidates, unavailable = selectors.order_resend_options(order=order)
        form = ResendNotificationForm(
            request.POST if request.method == "POST" else None, candidates=candidates
        )
        if request.method == "POST" and form.is_valid():
            original = candidates.get(pk=form.cleaned_data["original"])
            try:
                row = support_resend_notification(
                    original_id=original.pk, user=request.user, ip_address=staff_ip(request)
                )
            except SupportPermissionDenied as exc:
                raise PermissionDenied from exc
            except ValueError as exc:  # the outbox refused this row; say why, lose nothing
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request,
                    f"{original.get_template_name_display()} via "
                    f"{original.get_channel_display()} ke {row.recipient} masuk antrean "
                    f"kirim ulang (outbox #{row.pk}).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self._change_url(order.order_id))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Kirim ulang notifikasi · {order.order_id}",
            "opts": self.opts,
            "original": order,
            "order": order,
            "form": form,
            "has_candidates": bool(form.fields["original"].choices),  # type: ignore[attr-defined]
            "unavailable": [
                {"label": candidate_label(row), "reason": reason} for row, reason in unavailable
            ],
            "change_url": self._change_url(order.order_id),
        }
        return TemplateResponse(request, "admin/orders/order/resend_form.html", context)

    # -- list actions --

    def _reconcile_and_report(self, request: HttpRequest, order_id: str) -> ReconcileReport:
        try:
            report = support_reconcile_order(
                order_id=order_id, user=request.user, ip_address=staff_ip(request)
            )
        except SupportPermissionDenied as exc:
            raise PermissionDenied from exc
        outcomes = "; ".join(report.outcomes) or "belum ada pembayaran yang dibuat di Midtrans"
        if report.status_before != report.status_after:
            self.message_user(
                request,
                f"{order_id}: status berubah {report.status_before} → {report.status_after} "
                f"({report.new_events} event baru; {outcomes}).",
                messages.SUCCESS,
            )
        elif report.new_events:
            self.message_user(
                request,
                f"{order_id}: status tetap {report.status_after}; {report.new_events} event baru "
                f"dicatat ({outcomes}).",
                messages.INFO,
            )
        elif not report.error:
            self.message_user(
                request,
                f"{order_id}: tidak ada perubahan, status tetap {report.status_after} "
                f"({outcomes}).",
                messages.INFO,
            )
        if report.error:
            self.message_user(
                request,
                f"{order_id}: Midtrans tidak bisa ditanya untuk sebagian/semua pembayaran "
                f"({report.error}). Yang tidak terjawab tidak diubah; coba lagi sebentar lagi.",
                messages.ERROR,
            )
        return report

    @admin.action(description="Rekonsiliasi dengan Midtrans sekarang", permissions=("reconcile",))
    def reconcile_with_midtrans(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> HttpResponse | None:
        if not self.has_reconcile_permission(request):  # get_actions filters; a crafted POST
            raise PermissionDenied
        order_ids = list(queryset.values_list("order_id", flat=True)[: MAX_ORDERS_PER_ACTION + 1])
        if len(order_ids) > MAX_ORDERS_PER_ACTION:
            self.message_user(
                request,
                f"Pilih paling banyak {MAX_ORDERS_PER_ACTION} order sekaligus.",
                messages.ERROR,
            )
            return None
        for order_id in order_ids:
            self._reconcile_and_report(request, order_id)
        return None

    @admin.action(description="Kirim ulang notifikasi…", permissions=("resend",))
    def resend_notification(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> HttpResponse | None:
        if not self.has_resend_permission(request):
            raise PermissionDenied
        order_ids = list(queryset.values_list("order_id", flat=True)[:2])
        if len(order_ids) != 1:
            self.message_user(
                request, "Pilih tepat satu order untuk kirim ulang notifikasi.", messages.ERROR
            )
            return None
        return HttpResponseRedirect(reverse("admin:orders_order_resend", args=[order_ids[0]]))


@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    form = PromoCodeAdminForm
    list_display = (
        "code",
        "kind",
        "value",
        "is_active",
        "used_count",
        "max_uses",
        "valid_from",
        "valid_until",
    )
    list_filter = ("is_active", "kind")
    search_fields = ("code",)
    filter_horizontal = ("packages",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # `used_count` is counted by checkout under a row lock; the code is snapshotted into
        # orders, so it is fixed once created.
        return ("code", "used_count", "created_at") if obj else ("used_count", "created_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders point at promo codes; deactivate instead
