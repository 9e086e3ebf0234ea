"""The invoice ("faktur"/kuitansi) of a PAID order: one template (`orders/_invoice.html`) for the
print page and the PDF. The PDF is rendered with WeasyPrint; its system libraries (Pango,
HarfBuzz) are installed by `.ci/run` and listed in the README."""

import functools
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone

from content.context_processors import seller_identity
from orders import selectors
from orders.models import Order


def invoice_context(*, order: Order) -> dict[str, Any]:
    return {
        "order": order,
        "invoice_number": selectors.order_invoice_number(order=order),
        "attempt": selectors.order_paid_attempt(order=order),
        "printed_at": timezone.now(),
        "seller": seller_identity(),
    }


def invoice_filename(*, order: Order) -> str:
    return f"kuitansi-{selectors.order_invoice_number(order=order)}.pdf"


@functools.cache
def _stylesheets() -> tuple[Any, ...]:
    """The parsed stylesheets, once per process: parsing site.css was a third of every PDF's
    time (the files change only with a deploy, which starts new processes)."""
    import weasyprint

    paths = [finders.find("css/site.css"), finders.find("css/invoice.css")]
    return tuple(weasyprint.CSS(filename=str(path)) for path in paths if path)


def invoice_pdf(*, order: Order) -> bytes:
    """The PDF invoice of a PAID order (the caller checks the status)."""
    import weasyprint  # heavy import: only where a PDF is made

    html = render_to_string("orders/receipt_pdf.html", invoice_context(order=order))
    document = weasyprint.HTML(string=html, base_url=settings.SITE_URL)
    pdf: bytes = document.write_pdf(stylesheets=list(_stylesheets()))
    return pdf
