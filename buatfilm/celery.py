"""The Celery app: JSON only, late acks, one message prefetched at a time.

Delivery tasks must survive a worker dying mid-task (`acks_late` + `task_reject_on_worker_lost`
put the message back); prefetch 1 keeps a slow send from hoarding messages another worker could
take. The outbox rows, not the broker, are the source of truth: a lost message is found again by
the beat sweep.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "buatfilm.settings.local")

app = Celery("buatfilm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    # Write each job's last_run_at as soon as Beat sends it (the default waits up to 3 min):
    # /metrics reports it and "Beat silent for 5 minutes" alerts on it.
    beat_sync_every=1,
    task_default_queue="default",
    task_routes={"notifications.*": {"queue": "notifications"}},
    timezone="Asia/Jakarta",
    enable_utc=True,
)
app.autodiscover_tasks()
