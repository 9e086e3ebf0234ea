"""Thin Celery tasks for the order jobs; the rules are in orders.services."""

from celery import shared_task

from orders import services


@shared_task(name="orders.expire_orders", ignore_result=True)
def expire_orders() -> int:
    run = services.orders_expire_due()
    return len(run.expired) + len(run.abandoned)


@shared_task(name="orders.send_payment_reminders", ignore_result=True)
def send_payment_reminders() -> int:
    return len(services.reminders_send_due())
