"""CSV exports for finance: paid orders and revenue to match Midtrans settlements, refunds, and
promo code usage. Each export is a generator of CSV lines over a queryset read with
`.iterator()` (a server-side cursor on PostgreSQL), so 100k orders stream in constant memory
and the first bytes leave before the last row is read; the admin wraps it in a
`StreamingHttpResponse`.

Amounts are plain integers in rupiah (a spreadsheet can sum them); times are WIB
(Asia/Jakarta) as `YYYY-MM-DD HH:MM:SS`, the zone Midtrans' settlement reports use."""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db.models import Case, IntegerField, OuterRef, QuerySet, Subquery, Value, When

from buatfilm.formatting import WIB
from orders.models import Order
from payments.models import AttemptStatus, PaymentAttempt

CHUNK_ROWS = 2000
# Excel opens a UTF-8 CSV correctly only with a byte-order mark.
BOM = "\ufeff"

ORDER_COLUMNS = (
    "order_id",
    "dibuat_wib",
    "paket_kode",
    "paket_nama",
    "harga_dasar",
    "diskon",
    "kode_promo",
    "total",
    "metode",
    "midtrans_order_id",
    "midtrans_transaction_id",
    "status",
    "dibayar_wib",
    "dikembalikan_wib",
)
PROMO_COLUMNS = (
    "kode_promo",
    "order_id",
    "dibuat_wib",
    "paket_kode",
    "harga_dasar",
    "diskon",
    "total",
    "status",
    "dibayar_wib",
)


class _Line:
    """A file-like object whose `write` returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def wib_text(moment: datetime | None) -> str:
    return moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield BOM + writer.writerow(list(header))
    for row in rows:
        yield writer.writerow(list(row))


def order_finance_lines(orders: QuerySet[Order]) -> Iterator[str]:
    """One CSV line per order of `orders` (header first), in the order of the queryset."""
    completed = Case(
        When(status=AttemptStatus.COMPLETED, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )

    def attempt_value(field: str) -> Subquery:
        return Subquery(
            PaymentAttempt.objects.filter(order_id=OuterRef("pk"))
            .annotate(is_completed=completed)
            .order_by("-is_completed", "-sequence")
            .values(field)[:1]
        )

    rows = (
        orders.order_by()
        .annotate(
            paid_midtrans_order_id=attempt_value("midtrans_order_id"),
            paid_transaction_id=attempt_value("midtrans_transaction_id"),
        )
        .values_list(
            "order_id",
            "created_at",
            "package_code",
            "package_name",
            "base_amount",
            "discount_amount",
            "discount_code",
            "final_amount",
            "payment_method",
            "paid_midtrans_order_id",
            "paid_transaction_id",
            "status",
            "paid_at",
            "refunded_at",
        )
        .order_by("created_at", "order_id")
        .iterator(chunk_size=CHUNK_ROWS)
    )
    return csv_lines(
        ORDER_COLUMNS,
        (
            (
                order_id,
                wib_text(created),
                code,
                name,
                base,
                discount,
                promo,
                total,
                method,
                midtrans_order_id or "",
                transaction_id or "",
                status,
                wib_text(paid),
                wib_text(refunded),
            )
            for (
                order_id,
                created,
                code,
                name,
                base,
                discount,
                promo,
                total,
                method,
                midtrans_order_id,
                transaction_id,
                status,
                paid,
                refunded,
            ) in rows
        ),
    )


def promo_usage_lines(orders: QuerySet[Order]) -> Iterator[str]:
    """One CSV line per order that used a promo code (header first), by code then time."""
    rows = (
        orders.exclude(discount_code="")
        .values_list(
            "discount_code",
            "order_id",
            "created_at",
            "package_code",
            "base_amount",
            "discount_amount",
            "final_amount",
            "status",
            "paid_at",
        )
        .order_by("discount_code", "created_at", "order_id")
        .iterator(chunk_size=CHUNK_ROWS)
    )
    return csv_lines(
        PROMO_COLUMNS,
        (
            (
                code,
                order_id,
                wib_text(created),
                package,
                base,
                discount,
                total,
                status,
                wib_text(paid),
            )
            for code, order_id, created, package, base, discount, total, status, paid in rows
        ),
    )


def refund_lines(orders: QuerySet[Order]) -> Iterator[str]:
    """The finance columns for the REFUNDED orders among `orders` (header first)."""
    return order_finance_lines(orders.filter(status="REFUNDED"))
