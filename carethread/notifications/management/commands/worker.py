"""``carethread worker [--once] [--interval S]``: deliver due notifications until stopped.

Each round sweeps expired claims and delivers what is due (new rows and due retries).
SIGTERM/SIGINT stop it after the notification in hand. ``--once`` runs one round and exits.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carethread.notifications.delivery import run_once


class Command(BaseCommand):
    help = "Deliver due notifications (email) until stopped; --once for one round."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between rounds")
        parser.add_argument("--batch", type=int, default=100, help="notifications per round")

    def handle(self, *args: Any, **options: Any) -> None:
        interval, batch = options["interval"], options["batch"]
        if interval <= 0 or batch <= 0:
            raise CommandError("--interval and --batch must be positive", returncode=2)
        stop = threading.Event()
        if options["once"]:
            self._report(run_once(batch))
            return

        def _stop(signum: int, frame: object) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write("worker started")
        self.stdout.flush()
        try:
            while not stop.is_set():
                counts = run_once(batch, stop)
                if counts:
                    self._report(counts)
                if sum(counts.values()) < batch:
                    stop.wait(interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("worker stopped")

    def _report(self, counts: dict[str, int]) -> None:
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing due"
        self.stdout.write(summary)
        self.stdout.flush()
