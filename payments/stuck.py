"""Stuck payment attempts: CREATED attempts whose process died during the Snap call.

`attempt_start` commits a CREATED attempt before calling Snap; if the process dies during the
call (worker killed, node lost), no answer is ever stored and the attempt stays CREATED. After
`IN_FLIGHT_GRACE` (longer than the Midtrans deadline, so the call cannot still be running) the
status page offers "coba lagi", and this job (Celery Beat, `manage.py resolve_stuck_attempts`)
settles each one by asking Midtrans:

* Midtrans has no such transaction (status 404): the attempt becomes FAILED, so the order's
  next start creates a new attempt right away and nothing lingers as "in flight".
* Midtrans has one (the customer did reach it): the attempt is kept and Midtrans' answer goes
  through the webhook's processing path (a pending answer makes it PENDING, a settlement pays).
* Midtrans unreachable: left for the next run.

The HTTP calls happen outside any transaction; the FAILED update re-checks the attempt under
the order row lock, so a Snap answer or a notification stored meanwhile always wins.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from buatfilm.logging import correlate
from orders.models import Order
from payments.midtrans import MidtransError, MidtransGateway, get_gateway
from payments.models import AttemptStatus, EventSource, PaymentAttempt
from payments.parsing import NotificationRejected
from payments.processing import payment_notification_process
from payments.selectors import IN_FLIGHT_GRACE, attempts_stuck
from supportdesk.audit import SYSTEM_RECONCILIATION, audit_record

logger = logging.getLogger(__name__)

FAILED = "failed"  # Midtrans had nothing: attempt FAILED
KEPT = "kept"  # Midtrans has a transaction: processed as reconciliation
ERROR = "error"  # Midtrans unreachable or refused: next run
RACED = "raced"  # the attempt moved on meanwhile (answer stored, notification processed)

ABANDONED_ERROR = "abandoned: no Snap answer was recorded and Midtrans has no transaction"
BATCH_SIZE = 200


@dataclass
class StuckSummary:
    results: dict[str, str] = field(default_factory=dict)  # midtrans_order_id -> result

    @property
    def failed(self) -> int:
        return sum(1 for result in self.results.values() if result == ERROR)

    def line(self) -> str:
        counts = Counter(self.results.values())
        parts = ", ".join(f"{n} {result}" for result, n in sorted(counts.items()))
        return f"resolve_stuck_attempts: {len(self.results)} attempt(s)" + (
            f": {parts}" if parts else ""
        )


def attempts_resolve_stuck(
    *, now: datetime | None = None, limit: int = BATCH_SIZE, actor: str = SYSTEM_RECONCILIATION
) -> StuckSummary:
    """Settle every CREATED attempt older than `IN_FLIGHT_GRACE` (at most `limit`, oldest
    first). Safe to run twice at once and next to checkout: see the module docstring."""
    now = now or timezone.now()
    summary = StuckSummary()
    stuck = list(attempts_stuck(now=now, grace=IN_FLIGHT_GRACE)[:limit])
    if not stuck:
        return summary
    gateway = get_gateway()
    for attempt in stuck:
        with correlate(attempt.order_id):
            summary.results[attempt.midtrans_order_id] = _resolve(gateway, attempt, actor=actor)
    logger.info(summary.line())
    return summary


def _resolve(gateway: MidtransGateway, attempt: PaymentAttempt, *, actor: str) -> str:
    try:
        answer = gateway.get_status(attempt.midtrans_order_id)
    except MidtransError as exc:
        logger.warning("stuck attempt %s: %s", attempt.midtrans_order_id, exc)
        return ERROR
    if answer is None:
        return _fail(attempt=attempt, actor=actor)
    if answer.get("order_id") != attempt.midtrans_order_id:
        logger.error("stuck attempt %s: Midtrans answered for another order id", attempt)
        return ERROR
    try:
        outcome = payment_notification_process(
            payload=answer, source=EventSource.RECONCILIATION, remote_ip=None, actor=actor
        )
    except NotificationRejected as exc:
        logger.error("stuck attempt %s: status answer rejected (%s)", attempt, exc)
        return ERROR
    logger.warning(
        "stuck attempt %s has a live Midtrans transaction: kept (%s)",
        attempt.midtrans_order_id,
        outcome.outcome,
    )
    return KEPT


@transaction.atomic
def _fail(*, attempt: PaymentAttempt, actor: str) -> str:
    Order.objects.select_for_update().filter(pk=attempt.order_id).first()
    current = PaymentAttempt.objects.get(pk=attempt.pk)
    if current.status != AttemptStatus.CREATED or current.snap_token:
        return RACED
    current.status = AttemptStatus.FAILED
    current.snap_error = ABANDONED_ERROR
    current.save(update_fields=["status", "snap_error", "updated_at"])
    audit_record(
        actor=actor,
        action="payment_attempt_abandoned",
        entity_type="payment_attempt",
        entity_id=current.midtrans_order_id,
        new_value={"status": AttemptStatus.FAILED, "error": ABANDONED_ERROR},
        correlation_id=current.order_id,
    )
    logger.warning("stuck attempt %s failed: %s", current.midtrans_order_id, ABANDONED_ERROR)
    return FAILED
