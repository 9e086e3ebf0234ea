"""Fixtures for the support desk tests: staff users as the groups of migration 0003 make them,
and orders driven into each state through the real state machine."""

import pytest
from django.contrib.auth.models import Group, Permission, User

from orders.models import Order, OrderStatus
from orders.tests.lifecycle import order_in

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


@pytest.fixture
def paid_order(db) -> Order:
    return order_in(S.PAID)
