from typing import Any

from django.core.management.base import BaseCommand

from orders.services import reminders_send_due


class Command(BaseCommand):
    help = "Queue one payment reminder for each order pending longer than REMINDER_AFTER_MINUTES."

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"... {done}/{total}")

    def handle(self, *args: Any, **options: Any) -> None:
        reminded = reminders_send_due(progress=self._progress)
        self.stdout.write(f"sent {len(reminded)} reminders")
