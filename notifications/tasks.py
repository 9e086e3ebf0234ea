"""Thin Celery tasks: load the row id, call the service. No rules here."""

from celery import shared_task

from notifications import services


@shared_task(name="notifications.deliver_outbox_message", ignore_result=True)
def deliver_outbox_message(outbox_id: int) -> None:
    services.outbox_deliver(outbox_id=outbox_id)
