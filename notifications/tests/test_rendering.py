"""Every template on every channel, rendered from a real order's stored context."""

import re

import pytest

from courses.services import access_message_context
from notifications.models import Channel, Template
from notifications.rendering import UnknownTemplate, render_message
from notifications.tests.conftest import make_order
from orders.messages import order_message_context
from orders.models import PaymentMethod
from payments.tests.factories import PaymentAttemptFactory

pytestmark = pytest.mark.django_db

HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
EXPIRY_WIB = "26 Nov 2026 14:05 WIB"
# Messages about an order (the login link and ops alerts have their own tests).
CUSTOMER_TEMPLATES = [t for t in Template.values if t not in (Template.OPS_ALERT, "login_link")]


def context_for(order, template):
    context = order_message_context(order)
    if template == Template.PAYMENT_SUCCESS_ACCESS:
        context |= access_message_context(order=order)
    if template in (Template.PAYMENT_FAILED, Template.PAYMENT_ATTEMPT_FAILED):
        context["reason"] = "Transaksi dibatalkan oleh bank"
    return context


# What each template must link to (keys of the stored context / derived pay link).
LINKS = {
    Template.PAYMENT_INSTRUCTION: ["pay_url", "status_url"],
    Template.PAYMENT_REMINDER: ["pay_url"],
    Template.PAYMENT_SUCCESS_ACCESS: ["login_url", "course_url", "login_page_url"],
    Template.PAYMENT_FAILED: ["new_order_url"],
    Template.ORDER_EXPIRED: ["new_order_url"],
    Template.PAYMENT_ATTEMPT_FAILED: ["status_url"],
    Template.PAYMENT_DETAILS: ["status_url"],
    Template.ORDER_REFUNDED: ["support_whatsapp_url"],
}
SHOWS_EXPIRY = {
    Template.PAYMENT_INSTRUCTION,
    Template.PAYMENT_REMINDER,
    Template.ORDER_EXPIRED,
    Template.PAYMENT_ATTEMPT_FAILED,
    Template.PAYMENT_DETAILS,
}


def link(context, key):
    if key == "pay_url":  # "Bayar sekarang" goes to the status page, never to Snap
        return context["status_url"]
    return context[key]


@pytest.mark.parametrize("template", CUSTOMER_TEMPLATES)
def test_email_has_subject_text_and_html_with_order_facts_and_links(template):
    order = make_order()
    context = context_for(order, template)

    message = render_message(template_name=template, channel=Channel.EMAIL, context=context)

    assert message.subject and "\n" not in message.subject
    for part in (message.text, message.html):
        assert order.order_id in part
        assert order.package_name in part
        assert "Rp 499.000" in part
        assert "Budi Santoso" in part
    assert "Halo Budi Santoso" in message.text
    assert not HTML_TAG.search(message.text), "the plain-text part must carry no HTML"
    assert message.html.lstrip().startswith("<!doctype html>")
    assert '<html lang="id">' in message.html
    for key in LINKS[template]:
        url = link(context, key)
        assert url in message.text
        assert f'href="{url.replace("&", "&amp;")}"' in message.html
    if template in SHOWS_EXPIRY:
        assert EXPIRY_WIB in message.text
        assert EXPIRY_WIB in message.html


@pytest.mark.parametrize("template", CUSTOMER_TEMPLATES)
def test_whatsapp_is_plain_text_with_bold_order_facts_and_links(template):
    order = make_order()
    context = context_for(order, template)

    message = render_message(template_name=template, channel=Channel.WHATSAPP, context=context)

    assert message.subject == "" and message.html == ""
    assert not HTML_TAG.search(message.text)
    assert "&amp;" not in message.text and "&#x27;" not in message.text
    assert re.search(r"\*[^*\n]+\*", message.text), "WhatsApp bold markers expected"
    assert order.order_id in message.text
    assert "Rp 499.000" in message.text
    assert "Budi Santoso" in message.text
    for key in LINKS[template]:
        assert link(context, key) in message.text
    if template in SHOWS_EXPIRY:
        assert EXPIRY_WIB in message.text
    assert "\n\n\n" not in message.text


@pytest.mark.parametrize("template", [Template.PAYMENT_INSTRUCTION, Template.PAYMENT_REMINDER])
def test_pay_links_go_to_the_status_page_never_to_a_snap_page(template):
    # A row queued before this rule carries the attempt's Snap URL in its stored context: the
    # attempt may be dead by the time the customer reads it (the status page offers a retry).
    order = make_order()
    snap = "https://app.sandbox.midtrans.com/snap/v4/redirection/abc123"
    context = order_message_context(order)
    assert snap not in str(context)
    stored_long_ago = context | {"payment": {**context["payment"], "redirect_url": snap}}
    for channel in Channel.values:
        message = render_message(template_name=template, channel=channel, context=stored_long_ago)
        assert snap not in message.text + message.html
        assert context["status_url"] in message.text


def test_instruction_shows_the_virtual_account_and_pays_through_the_status_page():
    order = make_order()
    context = order_message_context(order)
    email = render_message(
        template_name=Template.PAYMENT_INSTRUCTION, channel=Channel.EMAIL, context=context
    )
    whatsapp = render_message(
        template_name=Template.PAYMENT_INSTRUCTION, channel=Channel.WHATSAPP, context=context
    )
    assert "Nomor Virtual Account BCA: 12345678901" in email.text
    assert "Nomor VA BCA: *12345678901*" in whatsapp.text
    assert "Virtual Account BCA" in email.text  # the method, in words
    assert "Bayar sekarang" in email.html
    assert f"Bayar sekarang:\n{context['status_url']}" in email.text
    assert email.subject == f"Instruksi pembayaran pesanan {order.order_id} (Rp 499.000)"


def test_mandiri_bill_shows_biller_and_bill_key():
    order = make_order(payment_method=PaymentMethod.MANDIRI_BILL)
    order.attempts.all().delete()
    PaymentAttemptFactory(
        order=order, redirect_url="", bill_key="998877665544", biller_code="70012"
    )
    context = order_message_context(order)

    email = render_message(
        template_name=Template.PAYMENT_INSTRUCTION, channel=Channel.EMAIL, context=context
    )
    whatsapp = render_message(
        template_name=Template.PAYMENT_INSTRUCTION, channel=Channel.WHATSAPP, context=context
    )

    assert "kode perusahaan 70012, kode bayar 998877665544" in email.text
    assert "kode bayar *998877665544*" in whatsapp.text
    assert f"Bayar sekarang:\n{context['status_url']}" in email.text
    assert "Nomor Virtual Account" not in email.text


def test_success_subject_is_the_one_from_the_addendum():
    order = make_order()
    message = render_message(
        template_name=Template.PAYMENT_SUCCESS_ACCESS,
        channel=Channel.EMAIL,
        context=context_for(order, Template.PAYMENT_SUCCESS_ACCESS),
    )
    assert message.subject == "✅ Pembayaran Berhasil! Akses Kursus Kamu Sudah Aktif 🎉"
    assert "Buat Film Pakai AI" in message.text  # the course title from the context


def test_failed_message_gives_the_reason():
    order = make_order()
    context = context_for(order, Template.PAYMENT_FAILED)
    for channel in Channel.values:
        message = render_message(
            template_name=Template.PAYMENT_FAILED, channel=channel, context=context
        )
        assert "Transaksi dibatalkan oleh bank" in message.text


def test_text_parts_are_not_html_escaped_but_html_is():
    order = make_order(customer_name="Siti O'Neil <Admin>")
    context = order_message_context(order)
    email = render_message(
        template_name=Template.ORDER_EXPIRED, channel=Channel.EMAIL, context=context
    )
    whatsapp = render_message(
        template_name=Template.ORDER_EXPIRED, channel=Channel.WHATSAPP, context=context
    )
    assert "Halo Siti O'Neil <Admin>," in email.text
    assert "Halo Siti O'Neil <Admin>," in whatsapp.text
    assert "Siti O&#x27;Neil &lt;Admin&gt;" in email.html
    assert "<Admin>" not in email.html


def test_ops_alert_renders_subject_and_message_from_context():
    context = {
        "subject": "Pembayaran terlambat: BF-1",
        "message": "Order BF-1 sudah EXPIRED <b>tetapi</b> dibayar.",
        "order_id": "BF-1",
        "admin_url": "http://127.0.0.1:8000/admin/orders/order/BF-1/change/",
    }
    email = render_message(template_name=Template.OPS_ALERT, channel=Channel.EMAIL, context=context)
    assert email.subject == "[BuatFilm ops] Pembayaran terlambat: BF-1"
    assert context["message"] in email.text
    assert context["admin_url"] in email.text
    assert "&lt;b&gt;tetapi&lt;/b&gt;" in email.html  # ops input is escaped in HTML
    whatsapp = render_message(
        template_name=Template.OPS_ALERT, channel=Channel.WHATSAPP, context=context
    )
    assert whatsapp.text.startswith("⚠️ *Pembayaran terlambat: BF-1*")


def test_rendering_uses_only_the_stored_context():
    order = make_order()
    context = order_message_context(order)
    before = render_message(
        template_name=Template.PAYMENT_REMINDER, channel=Channel.EMAIL, context=context
    )
    order.customer_name = "Nama Lain"
    order.save()
    after = render_message(
        template_name=Template.PAYMENT_REMINDER, channel=Channel.EMAIL, context=context
    )
    assert before == after


def test_unknown_template_or_channel_is_refused():
    with pytest.raises(UnknownTemplate):
        render_message(template_name="nope", channel=Channel.EMAIL, context={})
    with pytest.raises(UnknownTemplate):
        render_message(template_name=Template.OPS_ALERT, channel="SMS", context={})
