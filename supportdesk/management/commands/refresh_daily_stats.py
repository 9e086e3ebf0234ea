from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from supportdesk.services import hourly_figures_refresh


class Command(BaseCommand):
    help = (
        "Bring the dashboard's daily order summary up to date for the closed days it can show, "
        "and run its all-time integrity check (course access without PAID), each over what "
        "changed since the last run (in full once a day)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--full",
            action="store_true",
            help="recompute every day and check every entitlement (after editing rows by hand)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        violations, days = hourly_figures_refresh(full=options["full"])
        self.stdout.write(
            f"refresh_daily_stats: {days} day(s) written; access without PAID: {violations}"
        )
