"""Thin Celery tasks: load the row id, call the service. No rules here."""

from celery import shared_task

from notifications import services


@shared_task(name="notifications.deliver_outbox_messages", ignore_result=True)
def deliver_outbox_messages(outbox_ids: list[int]) -> dict[int, str]:
    """The rows one transaction queued, published once after its commit."""
    return services.outbox_deliver_each(outbox_ids=outbox_ids)


@shared_task(name="notifications.deliver_outbox_message", ignore_result=True)
def deliver_outbox_message(outbox_id: int) -> str:
    """One row. Kept registered for the messages a previous release published (a deploy
    must not leave them unconsumed); nothing publishes it any more."""
    return services.outbox_deliver(outbox_id=outbox_id)


@shared_task(name="notifications.dispatch_outbox", ignore_result=True)
def dispatch_outbox(limit: int = 1000) -> dict[str, int]:
    """The Beat sweep: retries that came due, rows whose task message was lost, expired leases."""
    return services.outbox_dispatch_due(limit=limit)
