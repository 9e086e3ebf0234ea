"""`manage.py reconcile_payments [--order ID]`: ask Midtrans about orders whose webhook may have
been lost, through the webhook's own processing path. Thin: the rules are in
`payments.reconciliation.payment_reconcile_due` / `payment_reconcile_order`."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.models import Order
from payments.reconciliation import ReconcileSummary, payment_reconcile_due, payment_reconcile_order
from supportdesk.audit import SYSTEM_RECONCILIATION


class Command(BaseCommand):
    help = (
        "Reconcile payments with Midtrans: without --order, PENDING_PAYMENT orders older than "
        "RECONCILE_AFTER_MINUTES and EXPIRED/FAILED orders changed in the last "
        "RECONCILE_RECENT_HOURS. Prints one summary line; exits 1 if any Midtrans call failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--order", dest="order_id", help="Reconcile only this order id.")

    def handle(self, *args: Any, order_id: str | None = None, **options: Any) -> None:
        if order_id:
            try:
                results = payment_reconcile_order(order_id=order_id, actor=SYSTEM_RECONCILIATION)
            except Order.DoesNotExist as exc:
                raise CommandError(f"Order {order_id} tidak ditemukan.") from exc
            summary = ReconcileSummary(orders=1, attempts=results)
        else:
            summary = payment_reconcile_due(
                actor=SYSTEM_RECONCILIATION,
                progress=lambda done, total: self.stderr.write(f"... {done}/{total}"),
            )
        self.stdout.write(summary.line())
        if summary.failed:
            raise CommandError(f"{summary.failed} reconciliation(s) failed; see the log.")
