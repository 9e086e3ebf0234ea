"""The order page's one timeline (`supportdesk.selectors.order_timeline`): every attempt, Snap
call, Midtrans event, message, status change and staff action of an order, oldest first, in
words, with payloads collapsed and stripped of secrets."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from notifications.models import NotificationOutbox, Template
from orders.models import OrderStatus
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import move
from payments.models import EventSource, PaymentEvent
from payments.processing import payment_notification_process
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import midtrans_body
from supportdesk import selectors
from supportdesk.services import support_resend_notification

pytestmark = pytest.mark.django_db
S = OrderStatus
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


def at(minutes: int):
    return time_machine.travel(T0 + timedelta(minutes=minutes), tick=False)


def webhook(body: dict) -> str:
    return payment_notification_process(payload=body, source=EventSource.WEBHOOK, remote_ip=None)


@pytest.fixture
def busy_order(support_user):
    """Two attempts: the first card payment is denied, the second (BCA VA) settles; Midtrans
    repeats the settlement; support resends the access email."""
    with at(0):
        order = OrderFactory(status=S.CREATED)
    with at(1):
        first = PaymentAttemptFactory(order=order, sequence=1, payment_method="credit_card")
        move(order, S.PENDING_PAYMENT, actor="system:checkout")
    with at(3):
        deny = midtrans_body(first, "deny", fraud_status="deny", payment_type="credit_card")
        assert webhook(deny).outcome == "attempt_failed"
    with at(5):
        second = PaymentAttemptFactory(order=order, sequence=2, va_number="66021176650", bank="bca")
    with at(8):
        settlement = midtrans_body(second, "settlement", secret_token="tok-SECRET-9")
        assert webhook(settlement).outcome == "paid"
    with at(9):
        assert webhook(settlement).outcome == "duplicate"
    with at(20):
        original = NotificationOutbox.objects.get(
            order=order, channel="EMAIL", template_name=Template.PAYMENT_SUCCESS_ACCESS
        )
        resent = support_resend_notification(
            original_id=original.pk, user=support_user, ip_address="10.0.0.7"
        )
    order.refresh_from_db()
    return order, first, second, resent


def test_timeline_is_chronological_and_in_words(busy_order):
    order, first, second, _resent = busy_order
    timeline = selectors.order_timeline(order_id=order.order_id)
    moments = [entry.at for entry in timeline]
    assert moments == sorted(moments)
    titles = [entry.title for entry in timeline]

    def index(prefix: str) -> int:
        [found] = [i for i, title in enumerate(titles) if title.startswith(prefix)]
        return found

    created = index("Order dibuat")
    attempt1 = index(f"Percobaan bayar #1 ({first.midtrans_order_id})")
    pending = index("Status order: Dibuat, belum ke Midtrans → Menunggu pembayaran")
    deny = index("Notifikasi Midtrans: deny (credit_card) untuk percobaan #1")
    attempt2 = index(f"Percobaan bayar #2 ({second.midtrans_order_id})")
    settlement = index("Notifikasi Midtrans: settlement (bank_transfer) untuk percobaan #2")
    paid = index("Status order: Menunggu pembayaran → Lunas")
    access = index("Akses kursus diberikan")
    resend_request = index("Kirim ulang diminta: «Pembayaran berhasil + akses» via email")
    resend_copy = next(
        i
        for i, e in enumerate(timeline)
        if e.kind == "message" and "Kirim ulang dari" in str(e.details)
    )
    assert created < attempt1 < pending < deny < attempt2 < settlement < paid < access
    assert access < resend_request < resend_copy
    # The duplicate settlement added nothing: one settlement entry (index() found exactly one).
    assert PaymentEvent.objects.filter(order=order, transaction_status="settlement").count() == 1

    by_index = dict(enumerate(timeline))
    assert by_index[deny].label.text == "Percobaan ini gagal; order masih bisa dibayar"
    assert "coba lagi" in by_index[deny].label.todo
    assert by_index[settlement].label.text == "Lunas: akses diberikan"
    assert by_index[resend_request].kind == "staff"
    assert by_index[resend_request].actor == "staf alice"
    assert "IP 10.0.0.7" in by_index[resend_request].details
    assert "VA BCA 66021176650" in " ".join(by_index[attempt2].details)
    # Messages say template, channel, status and attempts.
    instruction = next(
        e for e in timeline if e.title.startswith("Pesan «Instruksi pembayaran» via email")
    )
    assert instruction.label.text == "Antre" and "Percobaan kirim 0/5" in instruction.details[0]
    # Payloads are kept for the <details> but without secrets.
    assert by_index[settlement].payload["transaction_status"] == "settlement"
    assert by_index[settlement].payload["secret_token"] == selectors.REDACTED
    assert "signature_key" not in by_index[settlement].payload  # never stored at all
    assert "tok-SECRET-9" not in str([e.payload for e in timeline])


@pytest.mark.parametrize("who", ["superuser", "support_user"])
def test_order_page_shows_the_timeline_not_inline_tables(request, client, who, busy_order):
    order, *_ = busy_order
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("admin:orders_order_change", args=[order.order_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert not response.context["inline_admin_formsets"]
    assert html.count('class="bf-entry ') == len(response.context["timeline"])
    assert (
        html.index("Order dibuat")
        < html.index("deny (credit_card)")
        < html.index("settlement (bank_transfer)")
        < html.index("Kirim ulang diminta")
    )
    assert "<details><summary>Data mentah (tanpa rahasia)</summary>" in html
    assert "tok-SECRET-9" not in html
    assert "attempt_failed" not in html  # outcome codes are shown as words
    assert 'style="' not in html.split('id="order-timeline"')[1]  # CSP: no inline styles


def test_timeline_without_audit_permission_omits_audit_rows(client, busy_order):
    from supportdesk.tests.conftest import make_staff

    order, *_ = busy_order
    viewer = make_staff("dina", groups=("Support",), without=("view_auditlog",))
    client.force_login(viewer)
    response = client.get(reverse("admin:orders_order_change", args=[order.order_id]))
    kinds = {entry.kind for entry in response.context["timeline"]}
    assert "audit" not in kinds and "staff" not in kinds
    assert {"order", "attempt", "event", "message"} <= kinds


def test_timeline_query_count_does_not_grow_with_history(busy_order, django_assert_max_num_queries):
    order, *_ = busy_order
    with django_assert_max_num_queries(6):
        selectors.order_timeline(order_id=order.order_id)
