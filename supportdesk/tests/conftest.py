"""Fixtures for the support desk tests: staff users as the groups of migration 0003 make them,
and orders driven into each state through the real state machine."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User

from orders.models import Order, OrderStatus
from orders.services import order_transition
from orders.tests.factories import OrderFactory
from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory

S = OrderStatus
PASSWORD = "correct-horse-battery-staple"


def make_staff(username: str, *, groups: tuple[str, ...] = (), without: tuple[str, ...] = ()):
    """An active staff user in `groups` (created by migration 0003), minus the permissions in
    `without` (given as codenames, e.g. "reconcile_order")."""
    user = User.objects.create_user(username, f"{username}@buatfilm.test", PASSWORD, is_staff=True)
    perms: set[Permission] = set()
    for name in groups:
        perms |= set(Group.objects.get(name=name).permissions.all())
    user.user_permissions.set([p for p in perms if p.codename not in without])
    return User.objects.get(pk=user.pk)  # fresh object: no cached permissions


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@buatfilm.test", PASSWORD)


@pytest.fixture
def support_user(db):
    return make_staff("alice", groups=("Support",))


@pytest.fixture
def support_without_actions(db):
    return make_staff(
        "bob", groups=("Support",), without=("reconcile_order", "resend_notification")
    )


@pytest.fixture
def editor_user(db):
    return make_staff("carol", groups=("Content editors",))


def paid_event(order: Order, **kwargs):
    attempt = order.attempts.first() or PaymentAttemptFactory(order=order)
    return PaymentEventFactory(attempt=attempt, **kwargs)


def drive(order: Order, *statuses: str) -> Order:
    """Move `order` through `statuses` with `order_transition` and what each move needs."""
    for status in statuses:
        kwargs: dict = {}
        if status == S.PAID:
            kwargs["payment_event"] = paid_event(order)
        elif status == S.REFUNDED:
            kwargs["payment_event"] = paid_event(
                order, transaction_status="refund", status_code="200"
            )
        elif status == S.EXPIRED:
            kwargs["now"] = order.expires_at + timedelta(seconds=1)
        order_transition(order_id=order.order_id, to_status=status, actor="test", **kwargs)
    order.refresh_from_db()
    return order


def order_in(status: str, **factory_kwargs) -> Order:
    """A fresh order in `status`, reached through legal transitions only."""
    paths = {
        S.CREATED: (),
        S.PENDING_PAYMENT: (S.PENDING_PAYMENT,),
        S.PAID: (S.PENDING_PAYMENT, S.PAID),
        S.FAILED: (S.PENDING_PAYMENT, S.FAILED),
        S.EXPIRED: (S.PENDING_PAYMENT, S.EXPIRED),
        S.REFUNDED: (S.PENDING_PAYMENT, S.PAID, S.REFUNDED),
    }
    order = OrderFactory(status=S.CREATED, **factory_kwargs)
    return drive(order, *paths[status])


@pytest.fixture
def paid_order(db) -> Order:
    return order_in(S.PAID)
