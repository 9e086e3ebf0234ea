"""The Celery Beat schedule, stored in the database (django-celery-beat) so ops can see and
pause it in the admin. `schedules_setup` is idempotent: it creates or updates each task by
name and removes our own tasks that are no longer in the list."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

NAME_PREFIX = "buatfilm: "


@dataclass(frozen=True)
class Job:
    name: str
    task: str
    every_seconds: int
    queue: str = "default"


def scheduled_jobs() -> list[Job]:
    return [
        Job("expire_orders", "orders.expire_orders", settings.SCHEDULE_EXPIRE_ORDERS_SECONDS),
        Job(
            "send_payment_reminders",
            "orders.send_payment_reminders",
            settings.SCHEDULE_SEND_REMINDERS_SECONDS,
        ),
        Job(
            "reconcile_payments",
            "payments.reconcile_payments",
            settings.SCHEDULE_RECONCILE_PAYMENTS_SECONDS,
        ),
        Job(
            "resolve_stuck_attempts",
            "payments.resolve_stuck_attempts",
            settings.SCHEDULE_RESOLVE_STUCK_ATTEMPTS_SECONDS,
        ),
        Job(
            "refresh_daily_stats",
            "supportdesk.refresh_daily_stats",
            settings.SCHEDULE_REFRESH_DAILY_STATS_SECONDS,
        ),
        Job(
            "dispatch_outbox",
            "notifications.dispatch_outbox",
            settings.SCHEDULE_DISPATCH_OUTBOX_SECONDS,
            queue="notifications",
        ),
    ]


@transaction.atomic
def schedules_setup() -> dict[str, int]:
    """Create or update one PeriodicTask per job. Each run expires after one interval, so a
    run that waited in a dead broker is dropped instead of piling up behind the next one.
    Bumps the beat change counter so a running beat reloads the schedule."""
    created = updated = 0
    wanted = set()
    for job in scheduled_jobs():
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=job.every_seconds, period=IntervalSchedule.SECONDS
        )
        name = NAME_PREFIX + job.name
        wanted.add(name)
        _, was_created = PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": job.task,
                "interval": interval,
                "crontab": None,
                "queue": job.queue,
                "expire_seconds": job.every_seconds,
                "enabled": True,
                "one_off": False,
            },
        )
        created += was_created
        updated += not was_created
    removed, _ = (
        PeriodicTask.objects.filter(name__startswith=NAME_PREFIX).exclude(name__in=wanted).delete()
    )
    PeriodicTasks.update_changed()
    return {"created": created, "updated": updated, "removed": removed}
