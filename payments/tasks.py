"""Thin Celery tasks for payments; the rules are in payments.reconciliation."""

from celery import shared_task

from payments import reconciliation, stuck
from payments.midtrans import MidtransUnavailable


@shared_task(name="payments.reconcile_payments", ignore_result=True)
def reconcile_payments() -> str:
    return reconciliation.payment_reconcile_due().line()


@shared_task(name="payments.resolve_stuck_attempts", ignore_result=True)
def resolve_stuck_attempts() -> str:
    return stuck.attempts_resolve_stuck().line()


@shared_task(
    name="payments.expire_attempts_at_midtrans",
    ignore_result=True,
    autoretry_for=(MidtransUnavailable,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def expire_attempts_at_midtrans(order_id: str) -> None:
    reconciliation.payment_expire_at_midtrans(order_id=order_id)
