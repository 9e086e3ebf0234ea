from typing import Any

from django.core.management.base import BaseCommand

from supportdesk.services import daily_stats_refresh, integrity_checks_run


class Command(BaseCommand):
    help = (
        "Recompute the dashboard's daily order summary for the closed days it can show, and "
        "its all-time integrity check (course access without PAID)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        violations = integrity_checks_run()
        self.stdout.write(
            f"refresh_daily_stats: {daily_stats_refresh()} day(s) written; "
            f"access without PAID: {violations}"
        )
