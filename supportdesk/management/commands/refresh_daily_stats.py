from typing import Any

from django.core.management.base import BaseCommand

from supportdesk.services import daily_stats_refresh


class Command(BaseCommand):
    help = "Recompute the dashboard's daily order summary for the closed days it can show."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"refresh_daily_stats: {daily_stats_refresh()} day(s) written")
