"""Payments' answers to what orders announce (connected in `PaymentsConfig.ready`)."""

import logging
from typing import Any

from payments.tasks import expire_attempts_at_midtrans

logger = logging.getLogger(__name__)


def expire_at_midtrans_when_order_expired(*, order_id: str, **_: Any) -> None:
    """An order expired by its deadline: ask Midtrans (in a worker, retried while Midtrans is
    unreachable) to expire its live transactions so they can no longer be paid."""
    try:
        expire_attempts_at_midtrans.delay(order_id)
    except Exception:
        # Broker down: the order is EXPIRED either way; a late payment would still be caught by
        # reconciliation (EXPIRED orders are reconciled for 48 h).
        logger.exception("could not queue the Midtrans expire call for %s", order_id)
