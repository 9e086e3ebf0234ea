from typing import Any

from django.core.management.base import BaseCommand

from buatfilm.schedules import schedules_setup


class Command(BaseCommand):
    help = "Create or update the Celery Beat periodic tasks (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = schedules_setup()
        self.stdout.write(
            f"schedules ready: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['removed']} removed"
        )
