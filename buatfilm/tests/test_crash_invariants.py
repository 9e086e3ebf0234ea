"""`bench.checks.crash_invariants` (what `make chaos` and the restore drill check): holds for
orders driven through the state machine, and each check notices its own violation."""

import pytest

from bench.checks import crash_invariants
from courses.models import Entitlement
from notifications.models import NotificationOutbox, OutboxStatus
from orders.tests.lifecycle import order_in, paid_order
from payments.models import PaymentEvent
from payments.tests.factories import PaymentEventFactory

pytestmark = pytest.mark.django_db


def violations() -> dict[str, int]:
    return {check.name: check.violations for check in crash_invariants()}


def test_orders_driven_through_the_state_machine_hold_every_invariant():
    paid_order()
    order_in("PENDING_PAYMENT")
    # The test lifecycle stores the paying event without running the webhook's processing.
    PaymentEvent.objects.filter(outcome="").update(outcome="paid")
    assert set(violations().values()) == {0}


def test_each_broken_invariant_is_counted():
    order = paid_order()
    PaymentEvent.objects.filter(outcome="").update(outcome="paid")
    Entitlement.objects.filter(order=order).delete()
    NotificationOutbox.objects.filter(order=order).update(
        status=OutboxStatus.SENDING, locked_until=None
    )
    PaymentEventFactory(outcome="")

    found = violations()

    assert found["PAID => an ACTIVE entitlement"] == 1
    assert found["no SENDING row with an expired lease"] >= 1
    assert found["every stored payment event processed"] == 1
