from typing import Any

from django.core.management.base import BaseCommand

from orders.services import orders_expire_due


class Command(BaseCommand):
    help = "Expire PENDING_PAYMENT orders past expires_at (and fail never-started CREATED ones)."

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"... {done}/{total}")

    def handle(self, *args: Any, **options: Any) -> None:
        run = orders_expire_due(progress=self._progress)
        self.stdout.write(
            f"expired {len(run.expired)} orders, failed {len(run.abandoned)} never-started orders"
        )
