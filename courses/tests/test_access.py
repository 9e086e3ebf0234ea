"""The access rule: `user_has_course_access` is true only with an ACTIVE, unexpired entitlement
whose order is PAID ("course access without PAID: 0")."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from courses.models import Course, Entitlement
from courses.selectors import user_course_cards, user_has_course_access
from courses.tests.factories import CourseFactory, customer_account
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import paid_order, refunded_order

pytestmark = pytest.mark.django_db


def customer_of(order):
    return customer_account(email=order.customer_email)


def course_of(order) -> Course:
    return order.package.course


def test_paid_order_opens_its_course():
    order = paid_order()
    assert user_has_course_access(user=customer_of(order), course=course_of(order))


def test_anonymous_has_no_access():
    order = paid_order()
    assert not user_has_course_access(user=AnonymousUser(), course=course_of(order))


def test_user_without_entitlement_has_no_access():
    order = paid_order()
    stranger = customer_account(email="orang.lain@example.com")
    assert not user_has_course_access(user=stranger, course=course_of(order))


def test_entitlement_opens_only_its_own_course():
    order = paid_order()
    other = CourseFactory(slug="kursus-lain", title="Kursus lain")
    assert not user_has_course_access(user=customer_of(order), course=other)


def test_refunded_order_closes_the_course():
    order = refunded_order()
    assert Entitlement.objects.get(order=order).status == Entitlement.Status.REVOKED
    assert not user_has_course_access(user=customer_of(order), course=course_of(order))


def test_suspended_entitlement_opens_nothing():
    order = paid_order()
    Entitlement.objects.filter(order=order).update(status=Entitlement.Status.SUSPENDED)
    assert not user_has_course_access(user=customer_of(order), course=course_of(order))


def test_expired_entitlement_opens_nothing():
    order = paid_order()
    Entitlement.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not user_has_course_access(user=customer_of(order), course=course_of(order))
    Entitlement.objects.filter(order=order).update(expires_at=timezone.now() + timedelta(days=1))
    assert user_has_course_access(user=customer_of(order), course=course_of(order))


def test_an_active_entitlement_without_a_paid_order_opens_nothing():
    """Defence in depth: even a wrongly created entitlement does not open the course."""
    order = OrderFactory()  # PENDING_PAYMENT
    user = customer_of(order)
    Entitlement.objects.create(
        order=order,
        user=user,
        course=course_of(order),
        status=Entitlement.Status.ACTIVE,
        granted_at=timezone.now(),
    )
    assert not user_has_course_access(user=user, course=course_of(order))


def test_course_cards_show_each_course_once_and_whether_it_opens():
    active = paid_order(customer_email="sama@example.com")
    refunded_order(customer_email="sama@example.com")  # same course, bought again, refunded
    (card,) = user_course_cards(user=customer_of(active))
    assert card.accessible and card.entitlement.order_id == active.order_id
    assert card.course == course_of(active)


def test_course_card_of_a_refunded_course_is_closed():
    revoked = refunded_order(customer_email="refund@example.com")
    (card,) = user_course_cards(user=customer_of(revoked))
    assert not card.accessible
    assert card.entitlement.status == Entitlement.Status.REVOKED
