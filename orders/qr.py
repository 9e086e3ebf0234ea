"""QR images for QRIS payments, rendered here from the QR string Midtrans gives (segno, pure
Python): no external image host sees our customers' transactions."""

import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(data: str) -> SafeString:
    """An inline, scalable SVG of `data` (error correction M, 4-module quiet zone). segno
    writes only its own markup, never the data, so it is safe to inline."""
    svg = segno.make(data, error="m").svg_inline(
        scale=1, border=4, omitsize=True, svgclass="qr-code", title="Kode QR QRIS"
    )
    return mark_safe(svg)  # noqa: S308 (segno markup, no user text)
