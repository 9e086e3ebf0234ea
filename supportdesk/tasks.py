"""Thin Celery tasks for the support desk; the rules are in supportdesk.services."""

from celery import shared_task

from supportdesk import services


@shared_task(name="supportdesk.refresh_daily_stats", ignore_result=True)
def refresh_daily_stats() -> int:
    _violations, days = services.hourly_figures_refresh()
    return days
