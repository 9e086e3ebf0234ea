"""A stateful property test: random sequences of webhook, expiry, reconcile and admin events
against one order, with the invariants checked after every step."""

from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from courses.models import Entitlement
from notifications.models import NotificationOutbox
from orders.models import Order, OrderStatus
from orders.services import OrderTransitionError, order_transition
from orders.tests.factories import OrderFactory
from payments.models import EventSource
from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory

S = OrderStatus

# The SPEC §3 table written out independently of orders.services.ALLOWED_TRANSITIONS.
SPEC_MOVES = {
    ("CREATED", "PENDING_PAYMENT"),
    ("CREATED", "FAILED"),
    ("PENDING_PAYMENT", "PAID"),
    ("PENDING_PAYMENT", "EXPIRED"),
    ("PENDING_PAYMENT", "FAILED"),
    ("EXPIRED", "PAID"),
    ("FAILED", "PAID"),
    ("PAID", "REFUNDED"),
}


class OrderLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.order = OrderFactory(status=S.CREATED)
        self.attempt = PaymentAttemptFactory(order=self.order)
        self.expected = S.CREATED
        self.history = [S.CREATED]
        self.events = 0

    def _event(self, transaction_status: str, **kwargs):
        self.events += 1
        return PaymentEventFactory(
            attempt=self.attempt,
            transaction_status=transaction_status,
            idempotency_key=f"{self.order.order_id}:{self.events}",
            **kwargs,
        )

    def _try(self, to_status: str, *, allowed: bool, **kwargs) -> None:
        try:
            order_transition(
                order_id=self.order.order_id, to_status=to_status, actor="property", **kwargs
            )
        except OrderTransitionError:
            assert not allowed, f"{self.expected} -> {to_status} should have been allowed"
            return
        assert allowed, f"{self.expected} -> {to_status} should have been refused"
        self.expected = to_status
        self.history.append(to_status)

    def _legal(self, to_status: str) -> bool:
        return (self.expected, to_status) in SPEC_MOVES

    @rule()
    def snap_created(self) -> None:
        self._try(S.PENDING_PAYMENT, allowed=self._legal(S.PENDING_PAYMENT))

    @rule(
        source=st.sampled_from([EventSource.WEBHOOK, EventSource.RECONCILIATION]),
        kind=st.sampled_from(["settlement", "capture_accept"]),
    )
    def verified_payment(self, source: str, kind: str) -> None:
        if kind == "settlement":
            event = self._event("settlement", source=source)
        else:
            event = self._event("capture", fraud_status="accept", source=source)
        self._try(S.PAID, allowed=self._legal(S.PAID), payment_event=event)

    @rule(status=st.sampled_from(["pending", "deny", "expire", "cancel", "capture_challenge"]))
    def non_paying_event_cannot_pay(self, status: str) -> None:
        if status == "capture_challenge":
            event = self._event("capture", fraud_status="challenge")
        else:
            event = self._event(status, status_code="201")
        self._try(S.PAID, allowed=False, payment_event=event)

    @rule()
    def forged_settlement_cannot_pay(self) -> None:
        self._try(
            S.PAID, allowed=False, payment_event=self._event("settlement", signature_valid=False)
        )

    @rule()
    def staff_tries_to_mark_paid(self) -> None:
        self._try(S.PAID, allowed=False)

    @rule(late=st.booleans())
    def expiry_job(self, late: bool) -> None:
        now = self.order.expires_at + (timedelta(seconds=1) if late else -timedelta(seconds=1))
        self._try(S.EXPIRED, allowed=late and self._legal(S.EXPIRED), now=now)

    @rule()
    def cancel(self) -> None:
        self._try(S.FAILED, allowed=self._legal(S.FAILED), reason="cancel")

    @rule()
    def refund(self) -> None:
        self._try(S.REFUNDED, allowed=self._legal(S.REFUNDED), payment_event=self._event("refund"))

    @invariant()
    def status_matches_model(self) -> None:
        assert Order.objects.get(pk=self.order.pk).status == self.expected

    @invariant()
    def paid_is_left_only_for_refunded(self) -> None:
        for before, after in zip(self.history, self.history[1:], strict=False):
            if before == S.PAID:
                assert after == S.REFUNDED

    @invariant()
    def active_entitlement_iff_paid(self) -> None:
        active = Entitlement.objects.filter(order=self.order, status="ACTIVE").exists()
        assert active == (self.expected == S.PAID)
        assert Entitlement.objects.filter(order=self.order).count() <= 1

    @invariant()
    def at_most_one_automatic_message_per_key(self) -> None:
        keys = Counter(
            NotificationOutbox.objects.filter(order=self.order, resend_of=None).values_list(
                "channel", "template_name"
            )
        )
        assert all(count == 1 for count in keys.values()), keys


@pytest.mark.django_db
def test_order_lifecycle_properties():
    run_state_machine_as_test(
        OrderLifecycle,
        settings=settings(max_examples=60, stateful_step_count=12, deadline=None),
    )
