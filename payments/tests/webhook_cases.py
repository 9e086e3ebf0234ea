"""Reusable webhook test kit, in the spirit of django-anymail's `tests/webhook_cases.py`.

`midtrans_body` builds a notification exactly as Midtrans signs it; `post_notification` sends
it through the Django test client; `WorldSnapshot` counts every table a notification could
touch, so "nothing happened" is one assertion. `MidtransWebhookNegativeCases` is a suite of
hostile and broken requests: subclass it in a test module to run it (it provides the
`attempt` fixture; override it to run the suite against another kind of attempt).
"""

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

from courses.models import Entitlement
from devtools.midtrans_simulator import sign_notification
from devtools.midtrans_simulator.app import STATUS_CODES, status_code_for
from notifications.models import NotificationOutbox, Template
from orders.models import Order, OrderStatus
from payments.models import AttemptStatus, PaymentAttempt, PaymentEvent
from payments.tests.factories import PaymentAttemptFactory
from supportdesk.models import AuditLog

WEBHOOK_URL = "/payments/midtrans/notification/"


def transaction_id_for(attempt: PaymentAttempt) -> str:
    """Midtrans keeps one transaction_id per transaction; derive a stable one per attempt."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"midtrans:{attempt.midtrans_order_id}"))


def midtrans_body(
    attempt: PaymentAttempt,
    transaction_status: str = "settlement",
    *,
    status_code: str | None = None,
    gross_amount: str | None = None,
    fraud_status: str | None = "accept",
    payment_type: str = "bank_transfer",
    transaction_id: str | None = None,
    server_key: str | None = None,
    order_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A notification body signed like Midtrans: sha512(order_id+status_code+gross_amount+key).
    `extra` is added after signing (unsigned fields, as in real notifications)."""
    order_id = order_id or attempt.midtrans_order_id
    if status_code is None:
        status_code = (
            status_code_for(transaction_status, fraud_status, status_api=False)
            if transaction_status in STATUS_CODES
            else "200"
        )
    gross_amount = gross_amount or f"{attempt.amount}.00"
    body: dict[str, Any] = {
        "transaction_time": "2026-11-24 10:00:00",
        "transaction_status": transaction_status,
        "transaction_id": transaction_id or transaction_id_for(attempt),
        "status_message": "midtrans payment notification",
        "status_code": status_code,
        "payment_type": payment_type,
        "order_id": order_id,
        "merchant_id": "G000000001",
        "gross_amount": gross_amount,
        "currency": "IDR",
        "expiry_time": "2026-11-25 10:00:00",
    }
    if fraud_status is not None:
        body["fraud_status"] = fraud_status
    if transaction_status == "settlement":
        body["settlement_time"] = "2026-11-24 10:05:00"
    body["signature_key"] = sign_notification(
        order_id, status_code, gross_amount, server_key or settings.MIDTRANS_SERVER_KEY
    )
    body.update(extra)
    return body


def post_notification(
    client: Client,
    body: Any,
    *,
    content_type: str = "application/json",
    raw: bytes | str | None = None,
    **headers: Any,
):
    data = raw if raw is not None else json.dumps(body)
    return client.post(WEBHOOK_URL, data=data, content_type=content_type, **headers)


@dataclass(frozen=True)
class WorldSnapshot:
    """Everything a notification could change, counted."""

    events: int
    processed_events: int
    outbox: int
    entitlements: int
    audit: int
    orders: tuple[tuple[str, str], ...]
    attempts: tuple[tuple[int, str, str, bool], ...]

    @classmethod
    def take(cls) -> "WorldSnapshot":
        return cls(
            events=PaymentEvent.objects.count(),
            processed_events=PaymentEvent.objects.exclude(outcome="").count(),
            outbox=NotificationOutbox.objects.count(),
            entitlements=Entitlement.objects.count(),
            audit=AuditLog.objects.count(),
            orders=tuple(Order.objects.order_by("pk").values_list("pk", "status")),
            attempts=tuple(
                PaymentAttempt.objects.order_by("pk").values_list(
                    "pk", "status", "transaction_status", "needs_review"
                )
            ),
        )


def success_rows(order: Order) -> int:
    return NotificationOutbox.objects.filter(
        order=order, template_name=Template.PAYMENT_SUCCESS_ACCESS
    ).count()


def ops_alerts(order: Order | None = None) -> list[NotificationOutbox]:
    rows = NotificationOutbox.objects.filter(template_name=Template.OPS_ALERT)
    if order is not None:
        rows = rows.filter(order=order)
    return list(rows)


@pytest.mark.django_db
class MidtransWebhookNegativeCases:
    """Broken, hostile and replayed notifications: none may change money, access or messages.
    Subclass in a `test_*.py` module to run."""

    @pytest.fixture
    def attempt(self) -> PaymentAttempt:
        return PaymentAttemptFactory()

    @pytest.fixture(autouse=True)
    def _fresh_rate_limits(self):
        cache.clear()
        yield
        cache.clear()

    # --- Transport: method, type, size, shape ----------------------------------------------

    @pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
    def test_only_post_is_allowed(self, client, attempt, method):
        before = WorldSnapshot.take()
        response = getattr(client, method)(WEBHOOK_URL)
        assert response.status_code == 405
        assert WorldSnapshot.take() == before

    @pytest.mark.parametrize(
        "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
    )
    def test_wrong_content_type_is_400(self, client, attempt, content_type):
        before = WorldSnapshot.take()
        response = post_notification(
            client, None, raw=json.dumps(midtrans_body(attempt)), content_type=content_type
        )
        assert response.status_code == 400
        assert WorldSnapshot.take() == before

    @pytest.mark.parametrize(
        "raw",
        [b"", b"{not json", b"\xff\xfe{}", b'{"a": NaN}', b'{"a": Infinity}', b"[" * 5000],
        ids=["empty", "broken", "not-utf8", "nan", "infinity", "deep-nesting"],
    )
    def test_bad_json_is_400(self, client, attempt, raw):
        before = WorldSnapshot.take()
        response = post_notification(client, None, raw=raw)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert WorldSnapshot.take() == before

    @pytest.mark.parametrize("value", [[], "settlement", 42, None])
    def test_json_that_is_not_an_object_is_400(self, client, attempt, value):
        before = WorldSnapshot.take()
        response = post_notification(client, value)
        assert response.status_code == 400
        assert WorldSnapshot.take() == before

    def test_body_over_64_kib_is_400_even_when_signed(self, client, attempt):
        body = midtrans_body(attempt, padding="x" * (64 * 1024))
        before = WorldSnapshot.take()
        response = post_notification(client, body)
        assert response.status_code == 400
        assert WorldSnapshot.take() == before
        assert Order.objects.get(pk=attempt.order_id).status == OrderStatus.PENDING_PAYMENT

    # --- Authentication: the signature --------------------------------------------------------

    def _assert_rejected_and_audited(self, response, attempt, before, reason, body=None):
        assert response.status_code == 403
        assert response.json()["reason"] == reason
        after = WorldSnapshot.take()
        assert after.events == before.events
        assert after.outbox == before.outbox
        assert after.entitlements == before.entitlements
        assert after.orders == before.orders
        assert after.attempts == before.attempts
        assert after.audit == before.audit + 1
        row = AuditLog.objects.get(action="webhook_invalid_signature")
        assert row.ip_address == "127.0.0.1"
        assert row.entity_id in (attempt.midtrans_order_id, "-")
        # No secrets: neither the signature, nor the server key, nor the payload.
        stored = json.dumps([row.old_value, row.new_value, row.user_agent, row.entity_id])
        assert settings.MIDTRANS_SERVER_KEY not in stored
        if body and body.get("signature_key"):
            assert body["signature_key"] not in stored
        return row

    def test_bad_signature_is_403_and_audited_without_secrets(self, client, attempt):
        body = midtrans_body(attempt)
        body["signature_key"] = "0" * 128
        before = WorldSnapshot.take()
        response = post_notification(client, body)
        row = self._assert_rejected_and_audited(response, attempt, before, "invalid_signature")
        assert row.entity_id == attempt.midtrans_order_id
        assert "0" * 128 not in json.dumps(row.new_value)

    def test_signature_made_with_another_key_is_403(self, client, attempt):
        body = midtrans_body(attempt, server_key="SB-Mid-server-SOMEONE-ELSE")
        before = WorldSnapshot.take()
        response = post_notification(client, body)
        self._assert_rejected_and_audited(response, attempt, before, "invalid_signature", body)

    @pytest.mark.parametrize(
        "field, value",
        [("gross_amount", "1.00"), ("status_code", "201"), ("order_id", "BF-OTHER-1")],
    )
    def test_changing_a_signed_field_breaks_the_signature(self, client, attempt, field, value):
        body = midtrans_body(attempt)
        body[field] = value
        before = WorldSnapshot.take()
        response = post_notification(client, body)
        assert response.status_code == 403
        assert WorldSnapshot.take().events == before.events

    def test_uppercase_signature_is_not_normalised(self, client, attempt):
        body = midtrans_body(attempt)
        body["signature_key"] = body["signature_key"].upper()
        before = WorldSnapshot.take()
        self._assert_rejected_and_audited(
            post_notification(client, body), attempt, before, "invalid_signature"
        )

    @pytest.mark.parametrize(
        "field", ["order_id", "status_code", "gross_amount", "signature_key", "transaction_status"]
    )
    def test_missing_field_is_403(self, client, attempt, field):
        body = midtrans_body(attempt)
        del body[field]
        before = WorldSnapshot.take()
        response = post_notification(client, body)
        row = self._assert_rejected_and_audited(response, attempt, before, "missing_fields", body)
        assert row.new_value["missing_fields"] == [field]

    @pytest.mark.parametrize("field", ["status_code", "gross_amount", "order_id"])
    def test_non_string_signed_field_is_403(self, client, attempt, field):
        body = midtrans_body(attempt)
        body[field] = 200 if field == "status_code" else 499000
        before = WorldSnapshot.take()
        response = post_notification(client, body)
        assert response.status_code == 403
        assert WorldSnapshot.take().events == before.events

    def test_surrogate_garbage_is_rejected_not_crashed(self, client, attempt):
        body = midtrans_body(attempt)
        raw = json.dumps(body).replace(body["signature_key"], "\\ud800abc")
        response = post_notification(client, None, raw=raw)
        assert response.status_code == 403

    @override_settings(RATELIMIT_ENABLE=True, MIDTRANS_INVALID_SIGNATURE_AUDIT_RATE="3/h")
    def test_invalid_signature_flood_cannot_fill_the_audit_log(self, client, attempt):
        body = midtrans_body(attempt, server_key="forged")
        statuses = [post_notification(client, body).status_code for _ in range(10)]
        assert statuses == [403] * 10
        assert AuditLog.objects.filter(action="webhook_invalid_signature").count() == 3
        assert PaymentEvent.objects.count() == 0

    @override_settings(RATELIMIT_ENABLE=True, MIDTRANS_WEBHOOK_RATE_LIMIT="5/h")
    def test_per_ip_rate_limit_answers_429_before_any_work(self, client, attempt):
        body = midtrans_body(attempt, "pending", fraud_status=None)
        statuses = [post_notification(client, body).status_code for _ in range(7)]
        assert statuses[:5] == [200] * 5
        assert statuses[5:] == [429, 429]
        # Another client IP has its own budget.
        other = post_notification(client, body, REMOTE_ADDR="10.1.2.3")
        assert other.status_code == 200

    @override_settings(MIDTRANS_ALLOWED_NETWORKS=["103.208.23.0/24"])
    def test_source_outside_allowed_networks_is_403(self, client, attempt):
        body = midtrans_body(attempt)
        before = WorldSnapshot.take()
        assert post_notification(client, body).status_code == 403
        assert WorldSnapshot.take() == before
        allowed = post_notification(client, body, REMOTE_ADDR="103.208.23.7")
        assert allowed.status_code == 200

    @override_settings(MIDTRANS_ALLOWED_NETWORKS=["103.208.23.0/24"], TRUSTED_PROXY_COUNT=1)
    def test_forwarded_for_is_trusted_only_for_configured_hops(self, client, attempt):
        body = midtrans_body(attempt)
        # A spoofed left-most entry is ignored: one proxy appends the real peer on the right.
        spoofed = post_notification(client, body, HTTP_X_FORWARDED_FOR="103.208.23.7, 198.51.100.9")
        assert spoofed.status_code == 403
        genuine = post_notification(client, body, HTTP_X_FORWARDED_FOR="198.51.100.9, 103.208.23.7")
        assert genuine.status_code == 200

    # --- Routing and money checks -----------------------------------------------------------

    def test_unknown_order_id_is_404_and_stored_for_audit(self, client, attempt):
        body = midtrans_body(attempt, order_id="BF-20261124-NOPE99-1")
        before = WorldSnapshot.take()
        response = post_notification(client, body)
        assert response.status_code == 404
        event = PaymentEvent.objects.get()
        assert event.attempt is None and event.order is None
        assert event.midtrans_order_id == "BF-20261124-NOPE99-1"
        assert event.outcome == "unknown_order"
        assert "signature_key" not in event.raw_payload
        after = WorldSnapshot.take()
        assert (after.outbox, after.entitlements, after.orders) == (
            before.outbox,
            before.entitlements,
            before.orders,
        )
        # Midtrans retries a 404: the retry is not stored twice and still answers 404.
        assert post_notification(client, body).status_code == 404
        assert PaymentEvent.objects.count() == 1

    @pytest.mark.parametrize(
        "gross",
        ["{amount}.01", "{plus_one}.00", "{minus_one}.00", "0.00", "-{amount}.00", "lots"],
    )
    def test_amount_mismatch_is_stored_not_applied_and_alerted(self, client, attempt, gross):
        gross_amount = gross.format(
            amount=attempt.amount, plus_one=attempt.amount + 1, minus_one=attempt.amount - 1
        )
        body = midtrans_body(attempt, gross_amount=gross_amount)
        before = WorldSnapshot.take()
        response = post_notification(client, body)
        assert response.status_code == 200
        assert response.json()["outcome"] == "amount_mismatch"
        event = PaymentEvent.objects.get()
        assert event.outcome == "amount_mismatch"
        assert event.gross_amount == gross_amount
        order = Order.objects.get(pk=attempt.order_id)
        assert order.status == OrderStatus.PENDING_PAYMENT
        assert PaymentAttempt.objects.get(pk=attempt.pk).status == attempt.status
        assert Entitlement.objects.count() == before.entitlements
        assert success_rows(order) == 0
        (alert,) = ops_alerts(order)
        assert alert.recipient == settings.OPS_EMAIL
        assert attempt.midtrans_order_id in alert.context["message"]

    def test_wrong_currency_is_an_amount_mismatch(self, client, attempt):
        body = midtrans_body(attempt, currency="USD")
        response = post_notification(client, body)
        assert response.json()["outcome"] == "amount_mismatch"
        assert Order.objects.get(pk=attempt.order_id).status == OrderStatus.PENDING_PAYMENT
        assert len(ops_alerts()) == 1

    def test_pending_body_replayed_as_settlement_is_not_applied(self, client, attempt):
        # transaction_status is outside the signature: a signed 201 "pending" must not become
        # a paid order by editing one unsigned word.
        body = midtrans_body(attempt, "pending", fraud_status=None)
        body["transaction_status"] = "settlement"
        response = post_notification(client, body)
        assert response.status_code == 200
        assert response.json()["outcome"] == "unrecognised_combination"
        assert Order.objects.get(pk=attempt.order_id).status == OrderStatus.PENDING_PAYMENT
        assert Entitlement.objects.count() == 0
        assert len(ops_alerts()) == 1

    @pytest.mark.parametrize("relabel", ["cancel", "expire", "deny", "failure", "capture"])
    def test_pending_body_relabelled_changes_nothing(self, client, attempt, relabel):
        # A genuine signed pending (201) body with another status word: cancel would fail the
        # order and queue payment_failed if the status code were not checked.
        body = midtrans_body(attempt, "pending", fraud_status=None)
        body["transaction_status"] = relabel
        before = WorldSnapshot.take()
        response = post_notification(client, body)
        assert response.json()["outcome"] == "unrecognised_combination"
        after = WorldSnapshot.take()
        assert (after.orders, after.attempts) == (before.orders, before.attempts)
        assert after.entitlements == before.entitlements
        assert after.events == before.events + 1
        (alert,) = ops_alerts()
        assert "tabel status" in alert.context["message"]
        assert after.outbox == before.outbox + 1  # the one ops alert, no customer message

    # --- Replays and out-of-order delivery ---------------------------------------------------

    def test_duplicate_is_200_and_changes_nothing(self, client, attempt):
        body = midtrans_body(attempt)
        first = post_notification(client, body)
        assert first.json()["outcome"] == "paid"
        before = WorldSnapshot.take()
        for _ in range(3):
            again = post_notification(client, body)
            assert again.status_code == 200
            assert again.json()["outcome"] == "duplicate"
        assert WorldSnapshot.take() == before
        assert before.entitlements == 1

    # (deny after settlement is a reversal: see test_status_table.py)
    @pytest.mark.parametrize("late_status", ["pending", "expire", "cancel", "failure"])
    def test_late_non_paid_event_never_moves_paid_back(self, client, attempt, late_status):
        assert post_notification(client, midtrans_body(attempt)).json()["outcome"] == "paid"
        before = WorldSnapshot.take()
        late = midtrans_body(attempt, late_status, fraud_status=None)
        response = post_notification(client, late)
        assert response.status_code == 200
        assert response.json()["outcome"] == "ignored_order_paid"
        after = WorldSnapshot.take()
        assert after.orders == before.orders
        assert after.attempts == before.attempts
        assert (after.outbox, after.entitlements) == (before.outbox, before.entitlements)
        assert after.events == before.events + 1
        row = AuditLog.objects.get(action="payment_event_ignored")
        assert row.entity_id == attempt.order_id
        assert row.new_value["transaction_status"] == late_status
        assert PaymentAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.COMPLETED
