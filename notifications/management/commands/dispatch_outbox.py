"""`manage.py dispatch_outbox`: deliver every due outbox row now (the same service as the Beat
sweep). Prints one line, e.g. `sent 3, retrying 1, dlq 0, lost 0, cancelled 0`
(cancelled: no longer relevant for their order, never sent).

Exit status is 0 when the run completed, even if rows went to the DLQ: each DLQ row already
raised an ops alert, and a failing exit would make a scheduler retry a run that did its job.
`--fail-on-dlq` exits 1 when this run moved any row to the DLQ (for scripts that want it)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.services import outbox_dispatch_due


class Command(BaseCommand):
    help = "Deliver due notification outbox rows (PENDING/RETRYING due, expired leases)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=1000, help="Most rows to handle.")
        parser.add_argument("--worker-id", default=None, help="Lease owner name (default: auto).")
        parser.add_argument(
            "--fail-on-dlq", action="store_true", help="Exit 1 if a row went to the DLQ."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        counts = outbox_dispatch_due(limit=options["limit"], worker_id=options["worker_id"])
        self.stdout.write(
            f"sent {counts['sent']}, retrying {counts['retrying']}, dlq {counts['dlq']}, "
            f"lost {counts['lost']}, cancelled {counts['cancelled']}"
        )
        if options["fail_on_dlq"] and counts["dlq"]:
            raise CommandError(f"{counts['dlq']} message(s) moved to the DLQ", returncode=1)
