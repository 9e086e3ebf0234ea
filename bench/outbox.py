"""Outbox delivery throughput: `python -m bench.outbox --messages N --out result.json`.

Why a process of its own: SPEC §12 asks for messages/s *per worker*, so exactly one process
runs `notifications.services.outbox_dispatch_due`, as the Beat sweep does in a Celery worker,
with the production code path end to end (claim with a lease, render the template, send,
fenced write-back) and only the providers replaced by fast fakes: Django's locmem email backend
and the fake WhatsApp gateway over real HTTP (`EMAIL_BACKEND`/`WHATSAPP_*` come from the env
`bench/run.py` sets). It sends the PENDING rows the load scenarios left behind (payment
instructions, success messages: nothing consumed the memory:// broker) and, if there are fewer
than N, tops up with support-style resends of them.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import django


def _due_count() -> int:
    from django.db.models import Q

    from notifications.models import NotificationOutbox, OutboxStatus

    return NotificationOutbox.objects.filter(
        Q(status__in=[OutboxStatus.PENDING, OutboxStatus.RETRYING]),
        Q(next_attempt_at__isnull=True),
    ).count()


def _top_up(missing: int) -> int:
    """Resend existing automatic rows (new rows with `resend_of`, outside the one-per-order
    key) until `missing` more rows are due."""
    from notifications.models import NotificationOutbox
    from orders.messages import order_message_resend, template_unavailable_reason

    # Only messages valid for their order now: the others would be refused (or CANCELLED).
    originals = [
        row.pk
        for row in NotificationOutbox.objects.filter(resend_of__isnull=True, order__isnull=False)
        .select_related("order")
        .order_by("pk")[: missing * 4]
        if row.order
        and not template_unavailable_reason(template=row.template_name, order=row.order)
    ][:missing]
    if not originals:
        return 0
    created = 0
    while created < missing:
        order_message_resend(original_id=originals[created % len(originals)], actor="system:bench")
        created += 1
    return created


def _analyze() -> None:
    """Planner statistics for the rows the load just wrote. On a live database autovacuum
    analyzes a table once a tenth of it changed (here: seconds into the load); in a database
    created minutes ago it may not have run yet, and the claim's plan would be judged on
    statistics of an empty table."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE notifications_notificationoutbox, orders_order")


def run(messages: int) -> dict[str, Any]:
    from django.core import mail

    from notifications.services import outbox_dispatch_due
    from notifications.whatsapp import WhatsAppClient

    # locmem keeps messages in `mail.outbox`, which Django creates only in its test runner.
    mail.outbox = []
    due_before = _due_count()
    topped_up = _top_up(messages - due_before) if due_before < messages else 0
    WhatsAppClient()  # settings are read here; fail before timing if misconfigured
    _analyze()

    started = time.perf_counter()
    counts = outbox_dispatch_due(limit=messages, worker_id="bench-outbox-worker")
    seconds = time.perf_counter() - started
    return {
        "messages": messages,
        "due_before": due_before,
        "topped_up": topped_up,
        "seconds": seconds,
        "counts": counts,
        "emails_captured": len(mail.outbox),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "buatfilm.settings.local")
    django.setup()
    from buatfilm.memory import worker_ready

    worker_ready()  # as a Celery pool process does (buatfilm/celery.py)
    args.out.write_text(json.dumps(run(args.messages)), encoding="utf-8")


if __name__ == "__main__":
    main()
