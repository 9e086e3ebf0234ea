"""Finance exports: `export_csv` on orders (paid orders and revenue to match Midtrans
settlements), refunds and promo usage; streamed (StreamingHttpResponse over `.iterator()`),
WIB dates, integer rupiah; only with `supportdesk.export_orders`."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import StreamingHttpResponse
from django.urls import reverse

from orders.models import Order, OrderStatus, PromoCode
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import order_in
from supportdesk import exports
from supportdesk.tests.conftest import make_staff

pytestmark = pytest.mark.django_db
S = OrderStatus
WIB = ZoneInfo("Asia/Jakarta")


def rows_of(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith(exports.BOM)
    return list(csv.DictReader(io.StringIO(text.removeprefix(exports.BOM))))


def export(client, action: str, url_name: str, pks) -> object:
    return client.post(
        reverse(url_name),
        {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0"},
    )


@pytest.fixture
def finance_user(db):
    return make_staff("fina", groups=("Keuangan",))


@pytest.fixture
def ledger(db):
    with time_machine.travel(datetime(2026, 11, 24, 23, 30, tzinfo=WIB), tick=False):
        paid = order_in(S.PAID)
        pending = order_in(S.PENDING_PAYMENT)
    attempt = paid.attempts.get()
    attempt.midtrans_transaction_id = "tx-paid-1"
    attempt.save(update_fields=["midtrans_transaction_id"])
    return paid, pending


@pytest.mark.parametrize("who", ["superuser", "finance_user"])
def test_order_export_has_the_finance_columns(request, client, who, ledger):
    paid, pending = ledger
    client.force_login(request.getfixturevalue(who))
    response = export(client, "export_csv", "admin:orders_order_changelist", [paid.pk, pending.pk])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = rows_of(response)
    assert list(rows[0]) == list(exports.ORDER_COLUMNS)
    by_id = {row["order_id"]: row for row in rows}
    row = by_id[paid.order_id]
    assert row["dibuat_wib"] == "2026-11-24 23:30:00"  # WIB, not UTC (16:30)
    assert (row["harga_dasar"], row["diskon"], row["total"]) == ("499000", "0", "499000")
    assert row["metode"] == paid.payment_method
    assert row["midtrans_order_id"] == f"{paid.order_id}-1"
    assert row["midtrans_transaction_id"] == "tx-paid-1"
    assert row["status"] == "PAID" and row["dibayar_wib"] == "2026-11-24 23:30:00"
    assert by_id[pending.order_id]["dibayar_wib"] == ""


def test_support_group_may_not_export(client, support_user, ledger):
    paid, _ = ledger
    client.force_login(support_user)
    page = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "export_csv" not in page
    response = export(client, "export_csv", "admin:orders_order_changelist", [paid.pk])
    assert not isinstance(response, StreamingHttpResponse)


def test_refund_and_promo_exports(client, superuser):
    promo = PromoCode.objects.create(code="HEMAT50", kind="FIXED", value=50_000)
    with_promo = order_in(
        S.PAID,
        promo_code=promo,
        discount_code="HEMAT50",
        discount_amount=50_000,
        final_amount=449_000,
    )
    refunded = order_in(S.REFUNDED)
    client.force_login(superuser)
    refunds = rows_of(
        export(
            client,
            "export_refunds_csv",
            "admin:orders_order_changelist",
            [refunded.pk, with_promo.pk],
        )
    )
    assert [r["order_id"] for r in refunds] == [refunded.order_id]
    assert refunds[0]["dikembalikan_wib"] != ""
    usage = rows_of(
        export(client, "export_usage_csv", "admin:orders_promocode_changelist", [promo.pk])
    )
    assert [(r["kode_promo"], r["order_id"], r["diskon"], r["total"]) for r in usage] == [
        ("HEMAT50", with_promo.order_id, "50000", "449000")
    ]


def test_export_streams_in_chunks_without_loading_every_row(client, superuser):
    """Enough orders for several `iterator()` chunks: the response is a generator that has
    sent its header before the rows are read, and it yields every row once."""
    package = OrderFactory().package
    total = exports.CHUNK_ROWS * 2 + 17
    Order.objects.bulk_create(
        [OrderFactory.build(package=package, status=S.CREATED) for _ in range(total - 1)],
        batch_size=1000,
    )
    client.force_login(superuser)
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "export_csv", "select_across": "1", "_selected_action": ["x"], "index": "0"},
    )
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    chunks = iter(response.streaming_content)
    header = next(chunks).decode()
    assert header.startswith(exports.BOM + "order_id,")
    rest = b"".join(chunks).decode()
    assert rest.count("\n") == total
