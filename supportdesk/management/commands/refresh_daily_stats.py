from typing import Any

from django.core.management.base import BaseCommand

from supportdesk.services import hourly_figures_refresh


class Command(BaseCommand):
    help = (
        "Recompute the dashboard's daily order summary for the closed days it can show, and "
        "its all-time integrity check (course access without PAID)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        violations, days = hourly_figures_refresh()
        self.stdout.write(
            f"refresh_daily_stats: {days} day(s) written; access without PAID: {violations}"
        )
