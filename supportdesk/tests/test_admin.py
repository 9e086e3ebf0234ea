"""The locked-down admin: nobody (superusers included) can set an order PAID, edit money or
status, add or delete payment records; search finds orders by every key support is given;
the order page shows attempts, events, messages, access and audit rows."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from courses.models import Entitlement
from notifications.models import NotificationOutbox
from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import order_in
from payments.models import PaymentAttempt, PaymentEvent
from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory
from supportdesk.models import AuditLog

pytestmark = pytest.mark.django_db
S = OrderStatus

STAFF = ["superuser", "support_user"]


def change_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.order_id])


def changelist_url() -> str:
    return reverse("admin:orders_order_changelist")


def snapshot(order: Order) -> dict:
    """Everything a forged "mark paid" would have to touch."""
    order.refresh_from_db()
    return {
        "status": order.status,
        "paid_at": order.paid_at,
        "final_amount": order.final_amount,
        "customer_email": order.customer_email,
        "entitlements": Entitlement.objects.filter(order=order).count(),
        "outbox": NotificationOutbox.objects.filter(order=order).count(),
        "audit": AuditLog.objects.count(),
        "events": PaymentEvent.objects.filter(order=order).count(),
    }


# --- Groups -----------------------------------------------------------------------------------


def test_migration_creates_support_group_with_view_and_action_permissions():
    perms = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name="Support").permissions.select_related("content_type")
    }
    assert perms == {
        "orders.view_order",
        "orders.view_promocode",
        "payments.view_paymentattempt",
        "payments.view_paymentevent",
        "notifications.view_notificationoutbox",
        "courses.view_course",
        "courses.view_lesson",
        "courses.view_package",
        "courses.view_entitlement",
        "supportdesk.view_auditlog",
        "supportdesk.reconcile_order",
        "supportdesk.resend_notification",
        "supportdesk.cancel_order",
    }
    # Nothing in the Support group may change anything.
    assert not [p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_"))]


def test_content_editors_edit_content_but_see_no_orders():
    perms = {p.codename for p in Group.objects.get(name="Content editors").permissions.all()}
    assert {"change_course", "add_lesson", "change_package", "change_promocode"} <= perms
    assert not {"view_order", "change_order", "reconcile_order"} & perms


# --- No way to set PAID -----------------------------------------------------------------------


@pytest.mark.parametrize("who", STAFF)
def test_order_change_form_has_no_editable_field(request, client, who):
    client.force_login(request.getfixturevalue(who))
    order = order_in(S.PENDING_PAYMENT)
    response = client.get(change_url(order))
    assert response.status_code == 200
    html = response.content.decode()
    assert order.order_id in html
    assert not re.search(r'<(select|input|textarea)[^>]*name="status"', html)
    assert response.context["adminform"].form.fields == {}
    # Every inline is read-only too: no management form that would accept rows.
    for formset in response.context["inline_admin_formsets"]:
        assert not formset.has_add_permission
        assert not formset.has_change_permission
        assert not formset.has_delete_permission
    # The status is still shown, as a badge.
    assert "Menunggu pembayaran" in html


@pytest.mark.parametrize("who", STAFF)
def test_crafted_post_to_change_view_cannot_set_paid(request, client, who):
    client.force_login(request.getfixturevalue(who))
    order = order_in(S.PENDING_PAYMENT)
    before = snapshot(order)
    forged = {
        "status": "PAID",
        "paid_at_0": "2026-11-24",
        "paid_at_1": "10:00:00",
        "final_amount": "1",
        "customer_email": "attacker@example.com",
        "_save": "Simpan",
    }
    response = client.post(change_url(order), forged)
    assert response.status_code == 403
    assert snapshot(order) == before
    assert before["status"] == S.PENDING_PAYMENT


@pytest.mark.parametrize("who", STAFF)
def test_no_add_and_no_delete_routes_for_orders(request, client, who):
    client.force_login(request.getfixturevalue(who))
    order = order_in(S.PENDING_PAYMENT)
    delete_url = reverse("admin:orders_order_delete", args=[order.order_id])
    assert client.get(delete_url).status_code in (403, 404)
    assert client.post(delete_url, {"post": "yes"}).status_code in (403, 404)
    assert client.get(reverse("admin:orders_order_add")).status_code in (403, 404)
    bulk = client.post(
        changelist_url(),
        {"action": "delete_selected", "_selected_action": [order.order_id], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert Order.objects.filter(pk=order.pk).exists()
    changelist = client.get(changelist_url())
    assert "delete_selected" not in changelist.content.decode()


def _superuser_request(rf, superuser, method="get", path="/"):
    from django.contrib.messages.storage.fallback import FallbackStorage

    request = getattr(rf, method)(path)
    request.user = superuser
    request.axes_attempt_time = timezone.now()  # AxesMiddleware sets it on real requests
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


PAID_WORDS = re.compile(r"paid|lunas|bayar|set.?status|mark|status", re.IGNORECASE)


def test_no_registered_admin_has_an_action_that_sets_paid(rf, superuser):
    request = _superuser_request(rf, superuser)
    seen = 0
    for model, model_admin in admin.site._registry.items():
        for name, (_, action_name, description) in model_admin.get_actions(request).items():
            seen += 1
            label = f"{name} {action_name} {description}"
            assert not PAID_WORDS.search(label), f"{model.__name__}: suspicious action {label!r}"
        if model is Order:
            assert set(model_admin.get_actions(request)) == {
                "reconcile_with_midtrans",
                "resend_notification",
                "export_csv",
                "export_refunds_csv",
            }
    assert seen > 0


def test_no_admin_form_anywhere_has_a_status_field_for_orders(rf, superuser):
    request = _superuser_request(rf, superuser)
    model_admin = admin.site._registry[Order]
    order = order_in(S.PENDING_PAYMENT)
    form_class = model_admin.get_form(request, order, change=True)
    assert "status" not in form_class.base_fields
    assert not model_admin.has_change_permission(request, order)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, order)


def test_running_every_admin_action_never_writes_order_status(rf, superuser, settings):
    """Every action of every registered admin, run by a superuser on every row of its model,
    leaves every order's status and paid_at as they were. (Midtrans is unreachable here: the
    reconcile action must report that, not change anything.)"""
    settings.MIDTRANS_API_BASE_URL = "http://127.0.0.1:9"  # closed port: refused at once
    settings.MIDTRANS_SNAP_BASE_URL = "http://127.0.0.1:9"
    settings.MIDTRANS_MAX_RETRIES = 0
    orders = [order_in(status) for status in (S.PENDING_PAYMENT, S.FAILED, S.EXPIRED, S.CREATED)]
    PaymentAttemptFactory(order=orders[0])
    before = {o.pk: (o.status, o.paid_at) for o in Order.objects.all()}
    ran = []
    for model, model_admin in admin.site._registry.items():
        request = _superuser_request(rf, superuser, "post")
        for name, (func, _, _) in model_admin.get_actions(request).items():
            if name == "delete_selected":
                continue  # without "post" it only renders the confirmation page
            func(model_admin, request, model._default_manager.all())
            ran.append(f"{model.__name__}.{name}")
    assert "Order.reconcile_with_midtrans" in ran
    assert {o.pk: (o.status, o.paid_at) for o in Order.objects.all()} == before
    assert not Entitlement.objects.exists()


# --- Read-only payment records and audit log --------------------------------------------------


@pytest.mark.parametrize(
    "model_name", ["paymentattempt", "paymentevent", "notificationoutbox", "entitlement"]
)
def test_payment_records_are_view_only_for_superusers(client, superuser, paid_order, model_name):
    client.force_login(superuser)
    objects = {
        "paymentattempt": ("payments", PaymentAttempt.objects.first()),
        "paymentevent": ("payments", PaymentEvent.objects.first()),
        "notificationoutbox": ("notifications", NotificationOutbox.objects.first()),
        "entitlement": ("courses", Entitlement.objects.first()),
    }
    app_label, obj = objects[model_name]
    base = f"admin:{app_label}_{model_name}"
    assert client.get(reverse(f"{base}_change", args=[obj.pk])).status_code == 200
    assert client.post(reverse(f"{base}_change", args=[obj.pk]), {}).status_code == 403
    assert client.get(reverse(f"{base}_add")).status_code == 403
    assert client.post(reverse(f"{base}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_audit_log_has_no_add_change_or_delete_for_anyone(client, superuser, paid_order):
    client.force_login(superuser)
    row = AuditLog.objects.filter(correlation_id=paid_order.order_id).first()
    assert (
        client.get(reverse("admin:supportdesk_auditlog_change", args=[row.pk])).status_code == 200
    )
    assert (
        client.post(
            reverse("admin:supportdesk_auditlog_change", args=[row.pk]), {"action": "forged"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:supportdesk_auditlog_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:supportdesk_auditlog_delete", args=[row.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    row.refresh_from_db()
    assert row.action != "forged"


def test_payload_is_pretty_printed_without_secrets(client, support_user):
    order = order_in(S.PENDING_PAYMENT)
    attempt = PaymentAttemptFactory(order=order)
    PaymentEventFactory(
        attempt=attempt,
        transaction_status="pending",
        status_code="201",
        raw_payload={
            "transaction_status": "pending",
            "signature_key": "deadbeef-signature",
            "va_numbers": [{"bank": "bca", "va_number": "12345678901"}],
            "nested": {"access_token": "tok-SECRET-1", "server_key": "SB-Mid-server-LEAK"},
        },
    )
    client.force_login(support_user)
    html = client.get(change_url(order)).content.decode()
    assert "12345678901" in html
    assert "&quot;transaction_status&quot;: &quot;pending&quot;" in html  # indented JSON
    for secret in ("deadbeef-signature", "tok-SECRET-1", "SB-Mid-server-LEAK"):
        assert secret not in html
    # Snap tokens and the order's access key are not shown either.
    assert attempt.snap_token not in html
    assert order.access_key not in html


# --- Search -----------------------------------------------------------------------------------


@pytest.fixture
def searchable(db):
    target = order_in(S.PENDING_PAYMENT, customer_phone="+6281298765432")
    attempt = PaymentAttemptFactory(
        order=target, sequence=2, midtrans_transaction_id="a1b2c3d4-attempt-tx"
    )
    PaymentEventFactory(
        attempt=attempt,
        transaction_id="e5f6a7b8-event-tx",
        transaction_status="pending",
        status_code="201",
    )
    other = order_in(S.PENDING_PAYMENT)
    PaymentAttemptFactory(order=other, midtrans_transaction_id="zz-other-tx")
    return target, attempt, other


def _found(client, term: str) -> list[str]:
    response = client.get(changelist_url(), {"q": term})
    assert response.status_code == 200
    return [o.order_id for o in response.context["cl"].result_list]


@pytest.mark.parametrize(
    "key",
    [
        "order_id",
        "email",
        "phone_e164",
        "phone_local",
        "midtrans_order_id",
        "attempt_tx",
        "event_tx",
    ],
)
def test_search_finds_order_by_each_key(client, support_user, searchable, key):
    target, attempt, _other = searchable
    terms = {
        "order_id": target.order_id,
        "email": target.customer_email,
        "phone_e164": "+6281298765432",
        "phone_local": "0812-9876-5432",
        "midtrans_order_id": attempt.midtrans_order_id,
        "attempt_tx": "a1b2c3d4-attempt-tx",
        "event_tx": "e5f6a7b8-event-tx",
    }
    client.force_login(support_user)
    assert _found(client, terms[key]) == [target.order_id]


def test_filters_by_status_and_package(client, support_user):
    paid = order_in(S.PAID)
    pending = order_in(S.PENDING_PAYMENT)
    client.force_login(support_user)
    response = client.get(changelist_url(), {"status__exact": "PAID"})
    assert [o.order_id for o in response.context["cl"].result_list] == [paid.order_id]
    response = client.get(changelist_url(), {"package__id__exact": pending.package_id})
    assert [o.order_id for o in response.context["cl"].result_list] == [pending.order_id]


def test_changelist_shows_badge_rupiah_age_and_method(client, support_user):
    order = order_in(S.PAID)
    client.force_login(support_user)
    html = client.get(changelist_url()).content.decode()
    assert order.order_id in html
    assert "Rp 499.000" in html
    assert "Lunas" in html and "bf-badge" in html
    assert "Virtual Account BCA" in html


# --- The order page -----------------------------------------------------------------------------


def test_order_page_shows_attempts_events_outbox_entitlement_and_audit(
    client, support_user, paid_order
):
    client.force_login(support_user)
    response = client.get(change_url(paid_order))
    html = response.content.decode()
    attempt = paid_order.attempts.get()
    event = paid_order.events.get()
    assert attempt.midtrans_order_id in html
    assert event.transaction_id in html and "settlement" in html
    outbox = NotificationOutbox.objects.filter(order=paid_order)
    assert outbox.count() == 4  # instruction + success, email + WhatsApp
    for row in outbox:
        assert row.get_template_name_display() in html
    assert "Akses kursus" in html and "Aktif" in html
    # One timeline in words instead of five tables of codes.
    assert 'id="order-timeline"' in html
    assert "Status order: Menunggu pembayaran → Lunas" in html
    assert "Akses kursus diberikan" in html
    assert "order_status_changed" not in html
    assert len(response.context["timeline"]) >= 8
    assert not response.context["inline_admin_formsets"]
    # The support actions are offered.
    assert reverse("admin:orders_order_reconcile", args=[paid_order.order_id]) in html
    assert reverse("admin:orders_order_resend", args=[paid_order.order_id]) in html


def test_order_page_hides_action_buttons_without_permission(
    client, support_without_actions, paid_order
):
    client.force_login(support_without_actions)
    html = client.get(change_url(paid_order)).content.decode()
    assert reverse("admin:orders_order_reconcile", args=[paid_order.order_id]) not in html
    assert reverse("admin:orders_order_resend", args=[paid_order.order_id]) not in html


# --- Content editing --------------------------------------------------------------------------


def test_editing_a_package_price_never_changes_existing_orders(client, editor_user):
    order = order_in(S.PAID)
    package = order.package
    client.force_login(editor_user)
    response = client.post(
        reverse("admin:courses_package_change", args=[package.pk]),
        {
            "course": package.course_id,
            "name": package.name,
            "description": "",
            "features": "[]",
            "price": "999000",
            "is_active": "on",
            "sort_order": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    package.refresh_from_db()
    assert package.price == 999_000
    order.refresh_from_db()
    assert (order.base_amount, order.final_amount) == (499_000, 499_000)
    assert order.attempts.get().amount == 499_000
    # A new order takes the new price.
    assert OrderFactory(package=package).final_amount == 999_000


def test_promo_code_used_count_is_read_only_and_code_upper_cased(client, editor_user):
    client.force_login(editor_user)
    response = client.post(
        reverse("admin:orders_promocode_add"),
        {
            "code": " hemat50 ",
            "kind": "FIXED",
            "value": "50000",
            "is_active": "on",
            "used_count": "7",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    from orders.models import PromoCode

    promo = PromoCode.objects.get()
    assert (promo.code, promo.used_count) == ("HEMAT50", 0)
    change = client.get(reverse("admin:orders_promocode_change", args=[promo.pk]))
    assert 'name="used_count"' not in change.content.decode()
    assert 'name="code"' not in change.content.decode()


def test_promo_max_uses_below_used_count_is_a_form_error_not_a_500(client, editor_user):
    from orders.models import PromoCode

    promo = PromoCode.objects.create(code="HEMAT50", kind="FIXED", value=50_000, max_uses=10)
    PromoCode.objects.filter(pk=promo.pk).update(used_count=7)  # as checkout counts them
    client.force_login(editor_user)
    url = reverse("admin:orders_promocode_change", args=[promo.pk])
    form = {"kind": "FIXED", "value": "50000", "is_active": "on"}
    response = client.post(url, {**form, "max_uses": "5"})
    assert response.status_code == 200
    assert "sudah dipakai 7 kali" in response.content.decode()
    promo.refresh_from_db()
    assert (promo.max_uses, promo.used_count) == (10, 7)
    # Exactly the uses so far is fine (the code is then used up).
    assert client.post(url, {**form, "max_uses": "7"}).status_code == 302
    assert PromoCode.objects.get(pk=promo.pk).max_uses == 7


def test_promo_code_with_spaces_is_refused_with_a_message(client, editor_user):
    client.force_login(editor_user)
    response = client.post(
        reverse("admin:orders_promocode_add"),
        {"code": "hemat 50", "kind": "FIXED", "value": "50000", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "tanpa spasi" in response.content.decode()
    assert 'value="hemat 50"' in response.content.decode()


def test_course_editor_edits_lessons_inline(client, editor_user):
    from courses.tests.factories import CourseFactory, LessonFactory

    course = CourseFactory()
    lesson = LessonFactory(course=course, title="Lama", slug="lama", position=1)
    client.force_login(editor_user)
    url = reverse("admin:courses_course_change", args=[course.pk])
    data = {
        "title": course.title,
        "tagline": "",
        "description": "",
        "is_active": "on",
        "lessons-TOTAL_FORMS": "1",
        "lessons-INITIAL_FORMS": "1",
        "lessons-MIN_NUM_FORMS": "0",
        "lessons-MAX_NUM_FORMS": "1000",
        "lessons-0-id": str(lesson.pk),
        "lessons-0-course": str(course.pk),
        "lessons-0-position": "1",
        "lessons-0-title": "Baru",
        "lessons-0-slug": "lama",
        "lessons-0-summary": "",
        "lessons-0-duration_minutes": "0",
        "lessons-0-video_url": "",
        "lessons-0-body": "Isi",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    lesson.refresh_from_db()
    assert lesson.title == "Baru"


def test_content_editor_cannot_open_orders(client, editor_user, paid_order):
    client.force_login(editor_user)
    assert client.get(change_url(paid_order)).status_code == 403
    assert client.get(changelist_url()).status_code == 403


def test_attempt_and_outbox_pages_hide_tokens_access_keys_and_login_links(
    client, support_user, paid_order
):
    client.force_login(support_user)
    attempt = paid_order.attempts.get()
    html = client.get(
        reverse("admin:payments_paymentattempt_change", args=[attempt.pk])
    ).content.decode()
    assert attempt.midtrans_order_id in html
    assert attempt.snap_token not in html
    success = NotificationOutbox.objects.get(
        order=paid_order, channel="EMAIL", template_name="payment_success_access"
    )
    assert "login_url" in success.context and paid_order.access_key in success.context["status_url"]
    assert paid_order.access_key in success.context["receipt_pdf_url"]
    html = client.get(
        reverse("admin:notifications_notificationoutbox_change", args=[success.pk])
    ).content.decode()
    assert "&quot;package_name&quot;" in html  # the context is shown...
    assert paid_order.access_key not in html  # ...without the status page key
    assert success.context["login_url"] not in html  # ...or the one-time login link


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unfiltered_big_changelist_is_counted_by_estimate(client, superuser, monkeypatch):
    # COUNT(*) over every order grew with the history (bench-scale); unfiltered, a big table
    # is counted by PostgreSQL's estimate. Filtered lists are still counted exactly. (A
    # superuser: the staff groups come from a data migration a transactional test flushes.)
    from django.db import connection

    from orders.tests.factories import OrderFactory
    from supportdesk.admin import base

    for _ in range(3):
        OrderFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")
    OrderFactory(status="EXPIRED")  # after the statistics: the estimate does not see it
    monkeypatch.setattr(base, "ESTIMATE_COUNT_ABOVE", 2)
    client.force_login(superuser)

    unfiltered = client.get(changelist_url())
    assert unfiltered.context["cl"].result_count == 3
    assert len(unfiltered.context["cl"].result_list) == 4  # the page itself is exact
    filtered = client.get(changelist_url() + "?status__exact=EXPIRED")
    assert filtered.context["cl"].result_count == 1
    monkeypatch.setattr(base, "ESTIMATE_COUNT_ABOVE", 100)
    assert client.get(changelist_url()).context["cl"].result_count == 4
