"""Customer pages: landing, checkout, payment retry, order status and receipt. Thin: they
validate input with the form, call `orders.services` / `payments.attempts`, and render."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from buatfilm.http import client_ip_or_none, rate_limited, user_agent
from content import selectors as content_selectors
from courses import selectors as course_selectors
from courses import services as course_services
from courses.models import Package
from orders import checkout as checkout_service
from orders import invoice, selectors, validators
from orders.forms import PAYMENT_METHOD_HELP, CheckoutForm
from orders.models import Order, OrderStatus, PaymentMethod
from orders.qr import qr_svg
from orders.selectors import order_status_url
from payments import attempts, cancellation
from payments.models import AttemptStatus, PaymentAttempt
from payments.selectors import attempt_is_stuck

# Per client IP. Polling the status API every 5 s is 12/min per open tab.
CHECKOUT_RATE = "10/m"
RETRY_RATE = "10/m"
STATUS_PAGE_RATE = "60/m"
STATUS_API_RATE = "120/m"
ACCESS_RATE = "10/m"
CREATE_API_RATE = "10/m"


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST the browser follows with a GET (Snap page, status page)."""

    status_code = 303


def landing(request: HttpRequest) -> HttpResponse:
    packages = selectors.packages_for_sale()
    first = packages.first()
    lessons = list(course_selectors.course_lessons(course=first.course)) if first else []
    return render(
        request,
        "orders/landing.html",
        {
            "packages": packages,
            "lessons": lessons,
            "total_minutes": sum(lesson.duration_minutes for lesson in lessons),
            "faq": content_selectors.faq_published(),
        },
    )


def _package_or_404(package_code: str) -> Package:
    try:
        return checkout_service.package_for_checkout(package_code=package_code)
    except checkout_service.PackageUnavailable as exc:
        raise Http404("package not for sale") from exc


def _prefill(request: HttpRequest) -> dict[str, str]:
    """ "Pesan lagi" from a failed/expired order: `?from=<order_id>&key=<access_key>` fills the
    form from that order (by reference, so no contact data travels in the URL)."""
    order = selectors.order_for_customer(
        order_id=request.GET.get("from", ""), access_key=request.GET.get("key", "")
    )
    if order is None:
        return {}
    return {
        "name": order.customer_name,
        "email": order.customer_email,
        "phone": order.customer_phone,
        "payment_method": order.payment_method,
    }


def ttl_display(minutes: int) -> str:
    """1440 -> '24 jam', 90 -> '1 jam 30 menit', 30 -> '30 menit'."""
    hours, rest = divmod(minutes, 60)
    parts = [f"{hours} jam"] if hours else []
    if rest or not parts:
        parts.append(f"{rest} menit")
    return " ".join(parts)


def _render_checkout(
    request: HttpRequest,
    package: Package,
    form: CheckoutForm,
    status: int = 200,
    quote: checkout_service.PriceQuote | None = None,
) -> HttpResponse:
    if quote is None:
        quote = checkout_service.price_quote(package=package, promo_code="")
    if quote.error and form.is_bound and "promo_code" not in form.errors:
        form.add_error("promo_code", quote.error)
    return render(
        request,
        "orders/checkout.html",
        {
            "package": package,
            "form": form,
            "quote": quote,
            "ttl": ttl_display(settings.ORDER_TTL_MINUTES),
        },
        status=status,
    )


def _quote(package: Package, raw_promo: str) -> checkout_service.PriceQuote:
    try:
        promo = validators.normalize_promo_code(raw_promo)
    except ValidationError as exc:
        return checkout_service.PriceQuote(package.price, 0, "", exc.messages[0])
    return checkout_service.price_quote(package=package, promo_code=promo)


SESSION_PENDING_ORDERS = "checkout_pending_orders"
# Preselected on a fresh checkout: the most used channel (any bank app can pay a QRIS, too,
# but a VA is what most of our customers pick; decided in docs/decisions.md).
DEFAULT_PAYMENT_METHOD = PaymentMethod.BCA_VA


def _remember_order(request: HttpRequest, order: Order) -> None:
    """This browser started `order`: a later checkout of the same package offers to resume it."""
    pending = dict(request.session.get(SESSION_PENDING_ORDERS) or {})
    pending[order.package_code] = order.order_id
    request.session[SESSION_PENDING_ORDERS] = pending


def _resumable_order(request: HttpRequest, package: Package, idempotency_key: str) -> Order | None:
    order_id = (request.session.get(SESSION_PENDING_ORDERS) or {}).get(package.code)
    if not isinstance(order_id, str):
        return None
    order = selectors.order_resumable(order_id=order_id, now=timezone.now())
    if order is None or order.idempotency_key == idempotency_key:
        return None  # the same submit again: the idempotency key returns that order anyway
    return order


@never_cache
@require_http_methods(["GET", "POST"])
@rate_limited(group="orders.checkout", rate=CHECKOUT_RATE, method="POST")
def checkout(request: HttpRequest, package_code: str) -> HttpResponse:
    package = _package_or_404(package_code)
    if request.method != "POST":
        raw_promo = request.GET.get("promo_code", "").replace("\x00", "")[:60]
        initial = {"payment_method": DEFAULT_PAYMENT_METHOD} | _prefill(request)
        form = CheckoutForm(initial=initial | ({"promo_code": raw_promo} if raw_promo else {}))
        return _render_checkout(request, package, form, quote=_quote(package, raw_promo))
    form = CheckoutForm(request.POST)
    valid = form.is_valid()
    quote = _quote(package, request.POST.get("promo_code", ""))
    if "apply_promo" in request.POST:
        # "Terapkan" without JavaScript: show the price, create nothing, keep what was typed
        # (and complain about nothing but the promo code yet).
        for name in list(form.errors):
            if name != "promo_code":
                del form.errors[name]
        return _render_checkout(request, package, form, quote=quote)
    if not valid:
        return _render_checkout(request, package, form, status=400, quote=quote)
    data = form.cleaned_data
    if owned := _owned_answer(request, package, data):
        return owned
    if "new_order" not in request.POST and (
        previous := _resumable_order(request, package, form.idempotency_key)
    ):
        return render(
            request,
            "orders/resume.html",
            {
                "package": package,
                "previous": previous,
                "previous_url": order_status_url(previous),
                "form": form,
                "data": data,
            },
            status=409,
        )
    try:
        order, recorded = attempts.checkout_order_create(
            package_code=package.code,
            customer_name=data["name"],
            customer_email=data["email"],
            customer_phone=data["phone"],
            payment_method=data["payment_method"],
            promo_code=data["promo_code"],
            idempotency_key=form.idempotency_key,
            ip_address=client_ip_or_none(request),
            user_agent=user_agent(request),
        )
    except checkout_service.PromoInvalid as exc:
        form.add_error("promo_code", exc.message)
        return _render_checkout(request, package, form, status=400, quote=quote)
    except checkout_service.PackageUnavailable as exc:
        raise Http404("package not for sale") from exc
    _remember_order(request, order)
    return _start_payment(request, order, recorded=recorded)


def _owned_answer(
    request: HttpRequest, package: Package, data: dict[str, str]
) -> HttpResponse | None:
    """Never charge twice: a customer who already has ACTIVE access to the package's course is
    sent to "Kursus saya" instead of paying. Only told when this browser proves it is them
    (logged in as that email, or the email *and* WhatsApp number of the paid order), so a
    stranger typing someone's email learns nothing (docs/decisions.md)."""
    user = request.user
    logged_in_as_owner = user.is_authenticated and user.get_username() == data["email"]
    phone = "" if logged_in_as_owner else data["phone"]
    if not course_selectors.customer_owns_course(
        email=data["email"], course=package.course, phone=phone
    ):
        return None
    return render(
        request,
        "orders/already_owned.html",
        {"package": package, "logged_in": logged_in_as_owner},
        status=409,
    )


@never_cache
@require_POST
@rate_limited(group="orders.retry_payment", rate=RETRY_RATE)
def retry_payment(request: HttpRequest, order_id: str) -> HttpResponse:
    """ "Coba lagi" / "Coba bayar lagi": a new payment attempt for an order the customer holds
    the key of (form field `key`)."""
    order = selectors.order_for_customer(order_id=order_id, access_key=request.POST.get("key", ""))
    if order is None:
        raise Http404
    method = request.POST.get("payment_method", "")
    if method and method not in PaymentMethod.values:
        return HttpResponseSeeOther(order_status_url(order))
    return _start_payment(request, order, payment_method=method)


def _start_payment(
    request: HttpRequest,
    order: Order,
    payment_method: str = "",
    recorded: PaymentAttempt | None = None,
) -> HttpResponse:
    """Start (or find) the Snap transaction and send the customer where they can pay."""
    try:
        attempt = attempts.attempt_start(
            order_id=order.order_id, payment_method=payment_method, recorded=recorded
        )
    except attempts.PaymentAlreadyStarted as exc:
        return HttpResponseSeeOther(exc.redirect_url)
    except attempts.PaymentTooLate as exc:
        return _render_payment_problem(request, exc, retryable=False, status=409)
    except (attempts.PaymentInProgress, attempts.PaymentNotAllowed):
        return HttpResponseSeeOther(order_status_url(order))
    except attempts.PaymentUnavailable as exc:
        return _render_payment_problem(request, exc, retryable=True, status=503)
    except attempts.PaymentRejected as exc:
        return _render_payment_problem(request, exc, retryable=False, status=502)
    return HttpResponseSeeOther(attempt.redirect_url)


def _render_payment_problem(
    request: HttpRequest, exc: attempts.PaymentStartError, *, retryable: bool, status: int
) -> HttpResponse:
    order = exc.order
    return render(
        request,
        "orders/payment_problem.html",
        {
            "order": order,
            "message": exc.message,
            "retryable": retryable,
            "too_late": isinstance(exc, attempts.PaymentTooLate),
            "new_order_url": _new_order_url(order),
            "status_url": order_status_url(order),
            "support_whatsapp_url": settings.SUPPORT_WHATSAPP_URL,
        },
        status=status,
    )


def _new_order_url(order: Order) -> str:
    """Checkout for the same package, prefilled from this order (see `_prefill`)."""
    path = reverse("orders:checkout", kwargs={"package_code": order.package_code})
    return f"{path}?{urlencode({'from': order.order_id, 'key': order.access_key})}"


def _order_or_404(request: HttpRequest, order_id: str) -> Order:
    order = selectors.order_for_customer(order_id=order_id, access_key=request.GET.get("key", ""))
    if order is None:
        raise Http404
    return order


@never_cache
@require_GET
@rate_limited(group="orders.status", rate=STATUS_PAGE_RATE)
def order_status(request: HttpRequest, order_id: str) -> HttpResponse:
    """Server truth only: whatever Midtrans put in the finish-redirect query string
    (`transaction_status=settlement`, ...) is ignored (UC-017)."""
    order = _order_or_404(request, order_id)
    now = timezone.now()
    summary = selectors.order_public_summary(order=order, now=now)
    attempt = selectors.order_latest_attempt(order=order)
    # CREATED = the Snap call is running; after the grace period its process has died
    # ("stuck"): the page offers "coba lagi" instead of waiting forever.
    stuck = attempt is not None and attempt_is_stuck(attempt, now=now)
    in_flight = attempt is not None and attempt.status == AttemptStatus.CREATED and not stuck
    path = reverse("orders:checkout", kwargs={"package_code": order.package_code})
    return render(
        request,
        "orders/status.html",
        {
            "order": order,
            "summary": summary,
            "in_flight": in_flight,
            "polling": order.status == OrderStatus.PENDING_PAYMENT or in_flight,
            "last_attempt_failed": stuck
            or (attempt is not None and attempt.status == AttemptStatus.FAILED),
            "failure_text": selectors.attempt_failure_text(attempt=attempt),
            "retry_methods": retry_method_options(current=order.payment_method),
            "qr_svg": qr_svg(summary["payment"]["qr_string"])
            if summary["payment"]["qr_string"]
            else "",
            "time_left_display": countdown_display(summary["seconds_left"]),
            "api_url": reverse("api:order_detail", kwargs={"order_id": order.order_id}),
            "reorder_url": f"{path}?from={order.order_id}&key={order.access_key}",
            "package_active": selectors.packages_for_sale()
            .filter(code=order.package_code)
            .exists(),
            "support_whatsapp_url": settings.SUPPORT_WHATSAPP_URL,
        },
    )


def retry_method_options(*, current: str) -> list[dict[str, str | bool]]:
    """Every offered method for the retry form, the order's current one preselected."""
    return [
        {
            "value": code,
            "label": label,
            "help": PAYMENT_METHOD_HELP.get(PaymentMethod(code), ""),
            "checked": code == current,
        }
        for code, label in PaymentMethod.choices
    ]


def countdown_display(seconds: int) -> str:
    """12345 -> '03:25:45' (what the countdown shows before/without JavaScript)."""
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


@never_cache
@require_GET
@rate_limited(group="orders.receipt", rate=STATUS_PAGE_RATE)
def receipt(request: HttpRequest, order_id: str) -> HttpResponse:
    """Printable receipt, for PAID orders only (anything else: 404, like a wrong key)."""
    order = _order_or_404(request, order_id)
    if order.status != OrderStatus.PAID:
        raise Http404
    return render(request, "orders/receipt.html", invoice.invoice_context(order=order))


@never_cache
@require_GET
@rate_limited(group="orders.receipt", rate=STATUS_PAGE_RATE)
def receipt_pdf(request: HttpRequest, order_id: str) -> HttpResponse:
    """The invoice as a PDF download, for PAID orders only (anything else: 404)."""
    order = _order_or_404(request, order_id)
    if order.status != OrderStatus.PAID:
        raise Http404
    response = HttpResponse(invoice.invoice_pdf(order=order), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{invoice.invoice_filename(order=order)}"'
    )
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@require_POST
@rate_limited(group="orders.access", rate=ACCESS_RATE)
def order_access(request: HttpRequest, order_id: str) -> HttpResponse:
    """ "Buka kursus" on the PAID status page (`?key=<access_key>`): logs the buyer in and opens
    the course, within ONE_CLICK_ACCESS_DAYS of payment and never for staff. Otherwise a fresh
    login link goes to the buyer's email. A wrong key or an unpaid order: 404."""
    order = selectors.order_for_customer(
        order_id=order_id, access_key=request.GET.get("key") or request.POST.get("key", "")
    )
    if order is None or order.status != OrderStatus.PAID:
        raise Http404
    try:
        user = course_services.one_click_access(order=order, ip_address=client_ip_or_none(request))
    except course_services.OneClickUnavailable:
        course_services.login_link_request(email=order.customer_email)
        return render(
            request,
            "courses/login_sent.html",
            {
                "email": order.customer_email,
                "max_age_hours": settings.MAGIC_LINK_MAX_AGE_HOURS,
                "from_order": True,
            },
        )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, "Kamu sudah masuk. Selamat belajar!")
    return redirect("courses:detail", slug=selectors.order_course_slug(order=order))


@never_cache
@require_http_methods(["GET", "POST"])
@rate_limited(group="orders.cancel", rate=RETRY_RATE, method="POST")
def cancel_order(request: HttpRequest, order_id: str) -> HttpResponse:
    """ "Batalkan pesanan": GET asks for confirmation, POST (with `key`) cancels through
    `payments.cancellation.order_cancel` and opens a checkout prefilled for a new order."""
    key = request.POST.get("key", "") if request.method == "POST" else request.GET.get("key", "")
    order = selectors.order_for_customer(order_id=order_id, access_key=key)
    if order is None:
        raise Http404
    if order.status not in cancellation.CANCELLABLE:
        return HttpResponseSeeOther(order_status_url(order))
    if request.method != "POST":
        return render(request, "orders/cancel_confirm.html", {"order": order})
    try:
        result = cancellation.order_cancel(
            order_id=order.order_id,
            actor=cancellation.CUSTOMER_ACTOR,
            ip_address=client_ip_or_none(request),
        )
    except cancellation.CancelNotAllowed:
        return HttpResponseSeeOther(order_status_url(order))
    except cancellation.CancelUnavailable:
        messages.error(
            request,
            "Pesanan belum bisa dibatalkan karena layanan pembayaran sedang tidak merespons. "
            "Coba lagi sebentar lagi.",
        )
        return HttpResponseSeeOther(order_status_url(order))
    if result.order.status != OrderStatus.FAILED:
        messages.info(request, "Pembayaranmu sudah kami terima, jadi pesanan ini tidak dibatalkan.")
        return HttpResponseSeeOther(order_status_url(result.order))
    messages.success(
        request,
        f"Pesanan {order.order_id} sudah dibatalkan. Data kamu sudah terisi untuk pesanan baru.",
    )
    path = reverse("orders:checkout", kwargs={"package_code": order.package_code})
    return HttpResponseSeeOther(f"{path}?from={order.order_id}&key={order.access_key}")
