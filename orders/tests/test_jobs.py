"""Scheduled order jobs: expiry and reminders, with controlled time and overlapping runs."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from buatfilm.testing import run_concurrently
from notifications.models import NotificationOutbox, Template
from orders.models import Order, OrderStatus
from orders.services import orders_expire_due, reminders_send_due
from orders.tests.factories import OrderFactory
from orders.tests.lifecycle import move, order_in
from supportdesk.models import AuditLog

S = OrderStatus
NOW = timezone.now().replace(microsecond=0)


def pending_order(*, age_minutes: int = 0, ttl_minutes: int = 24 * 60) -> Order:
    created = NOW - timedelta(minutes=age_minutes)
    with time_machine.travel(created, tick=False):
        order = order_in(S.CREATED)
        Order.objects.filter(pk=order.pk).update(
            expires_at=created + timedelta(minutes=ttl_minutes)
        )
        order.refresh_from_db()
        move(order, S.PENDING_PAYMENT)
    order.refresh_from_db()
    return order


def reminders(order: Order) -> int:
    return NotificationOutbox.objects.filter(
        order=order, template_name=Template.PAYMENT_REMINDER
    ).count()


@pytest.mark.django_db
class TestExpireOrders:
    def test_expires_exactly_at_the_boundary(self):
        order = pending_order(ttl_minutes=60)
        just_before = order.expires_at - timedelta(microseconds=1)

        assert orders_expire_due(now=just_before).expired == []
        assert Order.objects.get(pk=order.pk).status == S.PENDING_PAYMENT

        assert orders_expire_due(now=order.expires_at).expired == [order.order_id]
        order.refresh_from_db()
        assert order.status == S.EXPIRED
        assert order.expired_at == order.expires_at
        assert (
            NotificationOutbox.objects.filter(
                order=order, template_name=Template.ORDER_EXPIRED
            ).count()
            == 2
        )
        audit = AuditLog.objects.get(entity_id=order.order_id, new_value__status="EXPIRED")
        assert audit.actor == "system:scheduler"

    def test_second_run_changes_nothing(self):
        order = pending_order(ttl_minutes=1)
        later = order.expires_at + timedelta(minutes=5)
        assert orders_expire_due(now=later).expired == [order.order_id]
        assert orders_expire_due(now=later).expired == []
        assert (
            AuditLog.objects.filter(entity_id=order.order_id, action="order_status_changed").count()
            == 2
        )

    def test_paid_orders_never_expire(self):
        order = pending_order(ttl_minutes=1)
        move(order, S.PAID)
        assert orders_expire_due(now=order.expires_at + timedelta(hours=1)).expired == []
        assert Order.objects.get(pk=order.pk).status == S.PAID

    def test_never_started_created_orders_fail_quietly(self):
        order = OrderFactory(status=S.CREATED, expires_at=NOW - timedelta(minutes=1))
        run = orders_expire_due(now=NOW)
        assert run.abandoned == [order.order_id]
        order.refresh_from_db()
        assert order.status == S.FAILED
        assert order.status_reason == "snap_never_created"
        assert not NotificationOutbox.objects.filter(order=order).exists()

    def test_after_commit_payments_is_asked_to_expire_the_midtrans_transaction(
        self, monkeypatch, django_capture_on_commit_callbacks
    ):
        # Orders announces the expiry (orders.signals); payments, which owns Midtrans calls,
        # queues its expire job. Orders imports nothing of payments' tasks.
        from payments import receivers

        queued = []
        monkeypatch.setattr(receivers.expire_attempts_at_midtrans, "delay", queued.append)
        order = pending_order(ttl_minutes=1, age_minutes=10)
        with django_capture_on_commit_callbacks(execute=True):
            orders_expire_due(now=NOW)
            assert queued == []  # not before the expiry commits
        assert queued == [order.order_id]

    def test_a_broken_listener_does_not_break_the_expiry_run(
        self, monkeypatch, django_capture_on_commit_callbacks
    ):
        from payments import receivers

        def broker_down(order_id):
            raise ConnectionError("broker down")

        monkeypatch.setattr(receivers.expire_attempts_at_midtrans, "delay", broker_down)
        first = pending_order(ttl_minutes=1, age_minutes=10)
        second = pending_order(ttl_minutes=1, age_minutes=10)
        with django_capture_on_commit_callbacks(execute=True):
            run = orders_expire_due(now=NOW)
        assert sorted(run.expired) == sorted([first.order_id, second.order_id])
        assert Order.objects.get(pk=second.pk).status == S.EXPIRED

    def test_command_prints_a_summary(self):
        pending_order(ttl_minutes=1, age_minutes=10)
        out = StringIO()
        call_command("expire_orders", stdout=out)
        assert out.getvalue().strip() == "expired 1 orders, failed 0 never-started orders"


@pytest.mark.django_db
class TestReminders:
    def test_threshold_and_one_reminder_ever(self, settings):
        settings.REMINDER_AFTER_MINUTES = 60
        young = pending_order(age_minutes=59)
        old = pending_order(age_minutes=61)

        assert reminders_send_due(now=NOW) == [old.order_id]
        assert reminders(old) == 2  # email + WhatsApp
        assert reminders(young) == 0

        assert reminders_send_due(now=NOW) == []
        assert reminders(old) == 2

    def test_no_reminder_close_to_expiry(self, settings):
        settings.REMINDER_AFTER_MINUTES = 60
        expiring = pending_order(age_minutes=120, ttl_minutes=134)  # 14 min left
        comfortable = pending_order(age_minutes=120, ttl_minutes=136)  # 16 min left
        assert reminders_send_due(now=NOW) == [comfortable.order_id]
        assert reminders(expiring) == 0

    def test_no_reminder_after_paid_or_expired(self, settings):
        settings.REMINDER_AFTER_MINUTES = 60
        paid = pending_order(age_minutes=120)
        move(paid, S.PAID)
        expired = pending_order(age_minutes=120, ttl_minutes=119)
        orders_expire_due(now=NOW)
        assert Order.objects.get(pk=expired.pk).status == S.EXPIRED
        assert reminders_send_due(now=NOW + timedelta(minutes=30)) == []
        assert reminders(paid) == reminders(expired) == 0

    def test_command_prints_a_summary(self, settings):
        settings.REMINDER_AFTER_MINUTES = 0
        pending_order(age_minutes=5)
        out = StringIO()
        call_command("send_payment_reminders", stdout=out)
        assert out.getvalue().strip() == "sent 1 reminders"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestOverlappingRuns:
    def test_two_expiry_runs_change_each_order_once(self):
        orders = [pending_order(ttl_minutes=1, age_minutes=10) for _ in range(20)]
        results = run_concurrently([lambda: orders_expire_due(now=NOW)] * 2)
        errors = [r for r in results if isinstance(r, Exception)]
        assert errors == []
        for order in orders:
            assert Order.objects.get(pk=order.pk).status == S.EXPIRED
            assert (
                AuditLog.objects.filter(
                    entity_id=order.order_id, new_value__status="EXPIRED"
                ).count()
                == 1
            )
            assert (
                NotificationOutbox.objects.filter(
                    order=order, template_name=Template.ORDER_EXPIRED
                ).count()
                == 2
            )

    def test_two_reminder_runs_write_each_message_once(self, settings):
        settings.REMINDER_AFTER_MINUTES = 60
        orders = [pending_order(age_minutes=90) for _ in range(20)]
        results = run_concurrently([lambda: reminders_send_due(now=NOW)] * 2)
        errors = [r for r in results if isinstance(r, Exception)]
        assert errors == []
        for order in orders:
            assert reminders(order) == 2


@pytest.mark.django_db
def test_long_runs_show_progress(monkeypatch):
    monkeypatch.setattr("orders.services.PROGRESS_EVERY", 2)
    for _ in range(3):
        pending_order(ttl_minutes=1, age_minutes=10)
    out, err = StringIO(), StringIO()
    call_command("expire_orders", stdout=out, stderr=err)
    assert err.getvalue().strip() == "... 2/3"
    assert out.getvalue().strip() == "expired 3 orders, failed 0 never-started orders"
