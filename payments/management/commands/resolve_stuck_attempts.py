"""`manage.py resolve_stuck_attempts`: settle CREATED payment attempts whose process died during
the Snap call (ask Midtrans; no transaction -> FAILED, a live one -> kept). Thin: the rules are
in `payments.stuck.attempts_resolve_stuck`."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from payments.stuck import attempts_resolve_stuck


class Command(BaseCommand):
    help = (
        "Settle payment attempts stuck in CREATED for longer than the in-flight grace period: "
        "ask Midtrans; no transaction -> FAILED (a new attempt may start), a live one -> kept. "
        "Prints one summary line; exits 1 if any Midtrans call failed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = attempts_resolve_stuck()
        self.stdout.write(summary.line())
        if summary.failed:
            raise CommandError(f"{summary.failed} attempt(s) could not be checked; see the log.")
