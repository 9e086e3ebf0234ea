"""The invoice: a real PDF from the same template as the print page, with the seller's identity,
the buyer's own data in full, the full Midtrans reference, linked from the success email."""

import io

import pytest
from django.core import mail
from pypdf import PdfReader

from courses.tests.factories import PackageFactory
from notifications.models import Channel, NotificationOutbox, Template
from notifications.services import outbox_deliver
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import order_in, pay
from payments.tests.factories import PaymentAttemptFactory

pytestmark = pytest.mark.django_db

REF = "9c8e2b7a-4d1f-4c3a-9f00-1234567890ab"


@pytest.fixture
def paid(settings):
    settings.SELLER_NAME = "PT Buat Film Nusantara"
    settings.SELLER_ADDRESS = "Jl. Kemang Raya 10, Jakarta Selatan"
    settings.SELLER_TAX_ID = "01.234.567.8-901.000"
    package = PackageFactory(code="pro", name="Paket Pro", price=499_000)
    order = OrderFactory(
        package=package,
        status="CREATED",
        customer_name="Budi Santoso",
        customer_email="budiman@example.com",
        customer_phone="+6281234567789",
    )
    PaymentAttemptFactory(order=order, midtrans_transaction_id=REF)
    from orders.tests.lifecycle import move

    move(order, "PENDING_PAYMENT")
    return pay(order)


def pdf_url(order, key=None) -> str:
    return f"/orders/{order.order_id}/receipt.pdf?key={order.access_key if key is None else key}"


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_pdf_invoice_downloads_with_order_id_total_and_seller(client, paid):
    response = client.get(pdf_url(paid))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    invoice_number = "INV-" + paid.order_id.removeprefix("BF-")
    assert f'filename="kuitansi-{invoice_number}.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert paid.order_id in text
    assert invoice_number in text
    assert "Rp 499.000" in text
    assert "LUNAS" in text
    assert "PT Buat Film Nusantara" in text and "01.234.567.8-901.000" in text
    assert "budiman@example.com" in text and "+6281234567789" in text
    assert REF in text.replace("\n", "")
    assert "WIB" in text


@pytest.mark.parametrize("key", ["", "salah", "\x00"])
def test_pdf_needs_the_key(client, paid, key):
    # A NUL is refused before the view (HostileInputMiddleware, 400); the rest are 404.
    assert client.get(pdf_url(paid, key=key)).status_code == (400 if "\x00" in key else 404)


@pytest.mark.parametrize("status", ["PENDING_PAYMENT", "EXPIRED", "REFUNDED"])
def test_no_pdf_for_unpaid_orders(client, status):
    order = order_in(status)
    assert client.get(pdf_url(order)).status_code == 404


def test_print_page_shows_full_buyer_data_seller_and_full_reference(client, paid):
    html = client.get(f"/orders/{paid.order_id}/receipt/?key={paid.access_key}").content.decode()
    assert "budiman@example.com" in html and "+6281234567789" in html
    assert REF in html
    assert "PT Buat Film Nusantara" in html and "NPWP 01.234.567.8-901.000" in html
    assert pdf_url(paid).replace("?", "?") in html.replace("&amp;", "&")


def test_success_email_links_the_pdf_instead_of_attaching_it(client, paid, settings):
    # Sending never renders a PDF (issue 16: ~90 ms of CPU each, in the outbox's time); the
    # email carries the invoice number and a keyed link that downloads the same PDF.
    row = NotificationOutbox.objects.get(
        order=paid, template_name=Template.PAYMENT_SUCCESS_ACCESS, channel=Channel.EMAIL
    )
    assert outbox_deliver(outbox_id=row.pk) == "sent"
    [email] = [m for m in mail.outbox if m.to == ["budiman@example.com"]]
    assert email.attachments == []
    invoice_number = "INV-" + paid.order_id.removeprefix("BF-")
    link = f"{settings.SITE_URL}{pdf_url(paid)}"
    for body in (email.body, email.alternatives[0][0]):
        assert invoice_number in body and link in body
    response = client.get(pdf_url(paid))
    assert response.status_code == 200 and paid.order_id in pdf_text(response.content)


def test_a_success_message_queued_before_the_link_existed_still_sends(paid):
    # Rows queued by the previous release have no `receipt_pdf_url`: no dead link, no error.
    row = NotificationOutbox.objects.get(
        order=paid, template_name=Template.PAYMENT_SUCCESS_ACCESS, channel=Channel.EMAIL
    )
    row.context = {k: v for k, v in row.context.items() if k != "receipt_pdf_url"}
    row.save(update_fields=["context"])
    assert outbox_deliver(outbox_id=row.pk) == "sent"
    [email] = [m for m in mail.outbox if m.to == ["budiman@example.com"]]
    assert "receipt.pdf" not in email.body and "Kuitansi" not in email.body
