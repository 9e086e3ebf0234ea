from typing import Any

from django.core.management.base import BaseCommand

from orders.services import reminders_send_due


class Command(BaseCommand):
    help = "Queue one payment reminder for each order pending longer than REMINDER_AFTER_MINUTES."

    def handle(self, *args: Any, **options: Any) -> None:
        reminded = reminders_send_due()
        self.stdout.write(f"sent {len(reminded)} reminders")
