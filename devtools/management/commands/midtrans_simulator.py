"""`manage.py midtrans_simulator --port 8765`: the local Midtrans simulator, for development only.

Refuses to start unless `MIDTRANS_SIMULATOR_ENABLED` is true (production settings force it
false). The simulator is imported inside `handle`, so no production code path imports it.
"""

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

BANNER = """
##########################################################################################
#  MIDTRANS SIMULATOR: payments are SIMULATED. No real money moves.                      #
#  Snap:  {snap:<78}#
#  Core:  {api:<78}#
#  Notifications go to: {notify:<64}#
##########################################################################################
"""


class Command(BaseCommand):
    help = "Run the local Midtrans Snap/Core simulator (development and tests only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.MIDTRANS_SIMULATOR_ENABLED:
            raise CommandError(
                "The Midtrans simulator is disabled (MIDTRANS_SIMULATOR_ENABLED is false). "
                "It is for development and tests only and never runs with production settings."
            )
        if not settings.MIDTRANS_SERVER_KEY:
            raise CommandError("MIDTRANS_SERVER_KEY is empty: the simulator signs with it.")

        from devtools.midtrans_simulator import SimulatorServer

        server = SimulatorServer(
            server_key=settings.MIDTRANS_SERVER_KEY,
            notification_url=settings.MIDTRANS_NOTIFICATION_URL,
            host=options["host"],
            port=options["port"],
        )
        server.start()
        self.stdout.write(
            self.style.WARNING(
                BANNER.format(
                    snap=server.snap_base_url,
                    api=server.api_base_url,
                    notify=settings.MIDTRANS_NOTIFICATION_URL,
                )
            )
        )
        if settings.MIDTRANS_SNAP_BASE_URL.rstrip("/") != server.snap_base_url:
            self.stdout.write(
                self.style.WARNING(
                    f"Note: MIDTRANS_SNAP_BASE_URL is {settings.MIDTRANS_SNAP_BASE_URL!r}; "
                    f"point it at {server.snap_base_url} for the site to use this simulator."
                )
            )
        self.stdout.flush()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            self.stdout.write("Midtrans simulator stopped.")
