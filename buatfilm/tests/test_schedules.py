from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

pytestmark = pytest.mark.django_db

EXPECTED = {
    "buatfilm: expire_orders": ("orders.expire_orders", 60),
    "buatfilm: send_payment_reminders": ("orders.send_payment_reminders", 300),
    "buatfilm: reconcile_payments": ("payments.reconcile_payments", 600),
    "buatfilm: dispatch_outbox": ("notifications.dispatch_outbox", 60),
    "buatfilm: resolve_stuck_attempts": ("payments.resolve_stuck_attempts", 120),
    "buatfilm: refresh_daily_stats": ("supportdesk.refresh_daily_stats", 3600),
}


def current():
    return {
        t.name: (t.task, t.interval.every)
        for t in PeriodicTask.objects.select_related("interval")
        if t.interval
    }


def test_setup_schedules_twice_leaves_exactly_the_expected_tasks():
    out = StringIO()
    call_command("setup_schedules", stdout=out)
    assert "6 created, 0 updated, 0 removed" in out.getvalue()
    first_change = PeriodicTasks.last_change()

    out = StringIO()
    call_command("setup_schedules", stdout=out)
    assert "0 created, 6 updated, 0 removed" in out.getvalue()
    assert current() == EXPECTED
    assert PeriodicTask.objects.count() == 6
    assert PeriodicTasks.last_change() >= first_change
    for task in PeriodicTask.objects.all():
        assert task.enabled
        assert task.expire_seconds == task.interval.every


def test_intervals_come_from_settings_and_stale_tasks_are_removed(settings):
    PeriodicTask.objects.create(
        name="buatfilm: retired_job",
        task="orders.retired",
        interval=IntervalSchedule.objects.create(every=5, period=IntervalSchedule.SECONDS),
    )
    settings.SCHEDULE_EXPIRE_ORDERS_SECONDS = 2
    call_command("setup_schedules", stdout=StringIO())
    tasks = current()
    assert "buatfilm: retired_job" not in tasks
    assert tasks["buatfilm: expire_orders"] == ("orders.expire_orders", 2)
