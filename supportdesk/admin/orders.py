"""Orders (view-only, with the support actions) and promo codes."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from buatfilm.formatting import WIB, rupiah, wib
from buatfilm.http import client_ip_or_none as staff_ip
from orders.models import Order, OrderStatus, PromoCode
from payments.cancellation import CANCELLABLE, CancelNotAllowed, CancelUnavailable
from payments.refunds import RefundNotAllowed
from supportdesk import labels, selectors
from supportdesk.admin.base import (
    MAX_ORDERS_PER_ACTION,
    ReadOnlyModelAdmin,
    badge,
    badge_with_todo,
    concrete_field_names,
    yes_no,
)
from supportdesk.forms import (
    OfflineRefundForm,
    PromoCodeAdminForm,
    ResendNotificationForm,
    StaffCancelForm,
    candidate_label,
)
from supportdesk.services import (
    PERM_CANCEL,
    PERM_EXPORT,
    PERM_RECONCILE,
    PERM_RECORD_REFUND,
    PERM_RESEND,
    ReconcileReport,
    SupportPermissionDenied,
    support_cancel_order,
    support_export_csv,
    support_reconcile_order,
    support_record_refund,
    support_resend_notification,
)

# --- Finance exports -------------------------------------------------------------------------


def export_response(
    request: HttpRequest, kind: str, orders: QuerySet[Order]
) -> StreamingHttpResponse:
    """A streamed CSV download: rows are read with `.iterator()` while the response is being
    sent, so 100k orders neither time out nor fill the worker's memory."""
    try:
        lines = support_export_csv(
            kind=kind, orders=orders, user=request.user, ip_address=staff_ip(request)
        )
    except SupportPermissionDenied as exc:
        raise PermissionDenied from exc
    stamp = timezone.localtime(timezone.now(), WIB).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="buatfilm-{kind}-{stamp}.csv"'
    return response


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
    # Shown as the search box; the lookup itself is `get_search_results` (exact, indexed keys;
    # Django's default would be `icontains` on each field: sequential scans at scale).
    search_fields = ("order_id",)
    search_help_text = (
        "Cari dengan apa pun yang disebut pelanggan: order id, email, nomor HP (08…, 62… atau "
        "+62…), Midtrans order id (mis. BF-…-1) atau transaction id, nomor VA, bill key Mandiri."
    )
    # No date drill-down (date_trunc over every order) and no "of N total" count on a search:
    # both aggregate the whole table, which bench-scale showed growing 9x from 10k to 1M
    # orders. The created_at filter covers the dates.
    show_full_result_count = False
    ordering = ("-created_at",)
    list_per_page = 50
    actions = (
        "reconcile_with_midtrans",
        "resend_notification",
        "export_csv",
        "export_refunds_csv",
    )
    # No inline tables: the order page shows one timeline (`selectors.order_timeline`) instead
    # of five tables to cross-read by timestamp.
    # `access_key` (opens the customer's status page) and `idempotency_key` are left out on
    # purpose: support never needs them, and screenshots travel.
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("order_id", "status_now"),
                    ("package_name", "method"),
                    "money",
                    "customer",
                    "times",
                    "access",
                )
            },
        ),
        (
            "Detail teknis",
            {
                "classes": ("collapse",),
                "fields": (
                    ("package", "package_code", "promo_code"),
                    ("ip_address", "user_agent"),
                    ("created_at", "updated_at"),
                ),
            },
        ),
    )
    readonly_fields = (
        *concrete_field_names(Order, exclude=("access_key", "idempotency_key")),
        "status_badge",
        "status_now",
        "base_rp",
        "discount_rp",
        "final_rp",
        "age",
        "method",
        "money",
        "customer",
        "times",
        "access",
    )

    # -- columns --

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Order) -> SafeString:
        return badge(labels.order_status(obj.status))

    @admin.display(description="Status")
    def status_now(self, obj: Order) -> SafeString:
        return badge_with_todo(labels.order_status(obj.status))

    @admin.display(description="Jumlah")
    def money(self, obj: Order) -> SafeString:
        if not obj.discount_amount:
            return format_html("{}", rupiah(obj.final_amount))
        return format_html(
            '{} <span class="bf-muted">(harga {} dikurangi diskon {}{})</span>',
            rupiah(obj.final_amount),
            rupiah(obj.base_amount),
            rupiah(obj.discount_amount),
            f" kode {obj.discount_code}" if obj.discount_code else "",
        )

    @admin.display(description="Pelanggan")
    def customer(self, obj: Order) -> SafeString:
        # Staff see the full contact details: checking them is often the point of the call.
        return format_html(
            "{} · {} · {}", obj.customer_name, obj.customer_email, obj.customer_phone
        )

    @admin.display(description="Waktu (WIB)")
    def times(self, obj: Order) -> SafeString:
        parts = [("dibuat", obj.created_at), ("batas bayar", obj.expires_at)]
        parts += [
            (name, moment)
            for name, moment in (
                ("lunas", obj.paid_at),
                ("gagal", obj.failed_at),
                ("kedaluwarsa", obj.expired_at),
                ("dikembalikan", obj.refunded_at),
            )
            if moment
        ]
        return format_html_join(" · ", "{} {}", ((name, wib(m)) for name, m in parts))

    @admin.display(description="Akses kursus")
    def access(self, obj: Order) -> SafeString:
        entitlement = selectors.order_access(order_id=obj.order_id)
        if entitlement is None:
            return format_html('<span class="bf-muted">{}</span>', "Belum ada (order belum lunas)")
        return format_html(
            "{} {} untuk {} sejak {}",
            badge(labels.entitlement_status(entitlement.status)),
            entitlement.course.title,
            entitlement.user.email or entitlement.user.username,
            wib(entitlement.granted_at),
        )

    @admin.display(description="Jumlah", ordering="final_amount")
    def amount(self, obj: Order) -> str:
        return rupiah(obj.final_amount)

    @admin.display(description="Metode", ordering="payment_method")
    def method(self, obj: Order) -> str:
        return obj.get_payment_method_display()

    @admin.display(description="Umur")
    def age(self, obj: Order) -> str:
        return timesince(obj.created_at, timezone.now(), depth=1)

    @admin.display(description="Harga paket")
    def base_rp(self, obj: Order) -> str:
        return rupiah(obj.base_amount)

    @admin.display(description="Diskon")
    def discount_rp(self, obj: Order) -> str:
        return rupiah(obj.discount_amount)

    @admin.display(description="Total dibayar")
    def final_rp(self, obj: Order) -> str:
        return rupiah(obj.final_amount)

    # -- search: whatever the customer quotes, index-backed (see selectors.order_ids_matching) --

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Order], search_term: str
    ) -> tuple[QuerySet[Order], bool]:
        if not search_term.strip():
            return queryset, False
        ids = selectors.order_ids_matching(search_term)
        return queryset.filter(order_id__in=ids), False

    # -- permissions of the support actions --

    def has_reconcile_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_RECONCILE)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_RESEND)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_EXPORT)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_CANCEL)

    def has_record_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_RECORD_REFUND)

    # -- finance exports (streamed) --

    @admin.action(description="Ekspor CSV untuk keuangan (order terpilih)", permissions=("export",))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Order]) -> StreamingHttpResponse:
        return export_response(request, "orders", queryset)

    @admin.action(description="Ekspor CSV refund (dari order terpilih)", permissions=("export",))
    def export_refunds_csv(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> StreamingHttpResponse:
        return export_response(request, "refunds", queryset)

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
                "<path:object_id>/cancel/",
                view(self.cancel_view),
                name="orders_order_cancel",
            ),
            path(
                "<path:object_id>/resend/",
                view(self.resend_view),
                name="orders_order_resend",
            ),
            path(
                "<path:object_id>/refund/",
                view(self.refund_view),
                name="orders_order_refund",
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
        extra_context["can_record_refund"] = self.has_record_refund_permission(request) and (
            Order.objects.filter(order_id=object_id, status=OrderStatus.PAID).exists()
        )
        extra_context["can_cancel"] = (
            self.has_cancel_permission(request)
            and Order.objects.filter(order_id=object_id, status__in=CANCELLABLE).exists()
        )
        if Order.objects.filter(order_id=object_id).exists():
            extra_context["timeline"] = selectors.order_timeline(
                order_id=object_id,
                include_audit=request.user.has_perm("supportdesk.view_auditlog"),
            )
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

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: confirm with a reason; POST: the customer's cancel service, as this staff user."""
        order = self._order_or_404(request, object_id)
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        form = StaffCancelForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                result = support_cancel_order(
                    order_id=order.order_id,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    ip_address=staff_ip(request),
                )
            except SupportPermissionDenied as exc:
                raise PermissionDenied from exc
            except CancelNotAllowed as exc:
                label = labels.order_status(exc.order.status)
                form.add_error(
                    None, f"Order ini sudah {label.text}, jadi tidak bisa dibatalkan. {label.todo}"
                )
            except CancelUnavailable:
                form.add_error(
                    None,
                    "Midtrans tidak bisa dihubungi, jadi transaksinya mungkin masih bisa dibayar: "
                    "order tidak diubah. Coba lagi beberapa menit lagi.",
                )
            else:
                after = labels.order_status(result.order.status)
                if result.paid_meanwhile:
                    self.message_user(
                        request,
                        f"{order.order_id} ternyata sudah dibayar di Midtrans, jadi tidak "
                        f"dibatalkan: status {after.text}. {after.todo}",
                        messages.WARNING,
                    )
                else:
                    cancelled = ", ".join(result.cancelled_at_midtrans) or "tidak ada"
                    self.message_user(
                        request,
                        f"{order.order_id} dibatalkan: status {after.text}. Transaksi Midtrans "
                        f"yang dibatalkan: {cancelled}. Pelanggan diberi tahu.",
                        messages.SUCCESS,
                    )
                return HttpResponseRedirect(self._change_url(order.order_id))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Batalkan order · {order.order_id}",
            "opts": self.opts,
            "original": order,
            "order": order,
            "status_label": labels.order_status(order.status),
            "form": form,
            "change_url": self._change_url(order.order_id),
        }
        return TemplateResponse(request, "admin/orders/order/cancel_form.html", context)

    def refund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: the offline-refund form; POST: record it (order -> REFUNDED)."""
        order = self._order_or_404(request, object_id)
        if not self.has_record_refund_permission(request):
            raise PermissionDenied
        form = OfflineRefundForm(
            request.POST if request.method == "POST" else None,
            initial={"amount": order.final_amount},
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                support_record_refund(
                    order_id=order.order_id,
                    user=request.user,
                    amount=data["amount"],
                    reference=data["reference"],
                    reason=data["reason"],
                    ip_address=staff_ip(request),
                )
            except SupportPermissionDenied as exc:
                raise PermissionDenied from exc
            except RefundNotAllowed as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    f"{order.order_id}: refund offline {rupiah(data['amount'])} dicatat; order "
                    "REFUNDED, akses kursus dicabut, pelanggan diberi tahu.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self._change_url(order.order_id))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Catat refund offline · {order.order_id}",
            "opts": self.opts,
            "original": order,
            "order": order,
            "form": form,
            "paid": order.status == OrderStatus.PAID,
            "change_url": self._change_url(order.order_id),
        }
        return TemplateResponse(request, "admin/orders/order/refund_form.html", context)

    # -- list actions --

    def _reconcile_and_report(self, request: HttpRequest, order_id: str) -> ReconcileReport:
        try:
            report = support_reconcile_order(
                order_id=order_id, user=request.user, ip_address=staff_ip(request)
            )
        except SupportPermissionDenied as exc:
            raise PermissionDenied from exc
        before = labels.order_status(report.status_before)
        after = labels.order_status(report.status_after)
        found = "; ".join(selectors.reconcile_result_words(report.results)) or (
            "belum ada pembayaran yang dibuat di Midtrans"
        )
        if report.status_before != report.status_after:
            self.message_user(
                request,
                f"{order_id}: status berubah dari {before.text} menjadi {after.text}. "
                f"Midtrans: {found}. Langkah berikut: {after.todo}",
                messages.SUCCESS,
            )
        elif not report.error:
            self.message_user(
                request,
                (
                    f"{order_id}: status tetap {after.text} ({report.new_events} kabar baru "
                    "dicatat)"
                    if report.new_events
                    else f"{order_id}: tidak ada perubahan, status tetap {after.text}"
                )
                + f". Midtrans: {found}. Langkah berikut: {after.todo}",
                messages.INFO,
            )
        if report.error:
            self.message_user(
                request,
                f"{order_id}: Midtrans tidak bisa ditanya untuk sebagian/semua pembayaran "
                f"({report.error}). Yang tidak terjawab tidak diubah; coba lagi beberapa "
                "menit lagi.",
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
        "active_flag",
        "used_count",
        "max_uses",
        "valid_from",
        "valid_until",
    )
    list_filter = ("is_active", "kind")
    search_fields = ("code",)
    filter_horizontal = ("packages",)

    actions = ("export_usage_csv",)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERM_EXPORT)

    @admin.action(description="Ekspor CSV pemakaian kode promo", permissions=("export",))
    def export_usage_csv(
        self, request: HttpRequest, queryset: QuerySet[PromoCode]
    ) -> StreamingHttpResponse:
        return export_response(
            request, "promo_usage", Order.objects.filter(promo_code__in=queryset)
        )

    @admin.display(description="Aktif", ordering="is_active")
    def active_flag(self, obj: PromoCode) -> SafeString:
        return yes_no(obj.is_active, yes="Aktif", no="Nonaktif")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # `used_count` is counted by checkout under a row lock; the code is snapshotted into
        # orders, so it is fixed once created.
        return ("code", "used_count", "created_at") if obj else ("used_count", "created_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders point at promo codes; deactivate instead
