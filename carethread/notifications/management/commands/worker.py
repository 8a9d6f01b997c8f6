"""``carethread worker [--once] [--interval S] [--batch N]``: the background worker.

Runs the tasks of the database queue (Django's tasks API, django-tasks-db; notification
delivery and its retries) with the notification sweep between rounds, until SIGTERM/SIGINT:
the task in hand finishes, then it exits 0 (a second signal exits at once, 1). ``--once``
sweeps, runs every task that is due, and exits.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from carethread.notifications.worker import Runner

log = logging.getLogger(__name__)
RETRY_AFTER_ERROR = 5.0
MAX_INTERVAL = 3600.0
# Loggers of django-tasks: a line per task and per round at INFO; shown from --verbosity 2.
TASK_LOGGERS = ("django_tasks", "django_tasks_db")


class Command(BaseCommand):
    help = "Run background tasks (notification delivery and retries) until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="run what is due, then exit")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds to wait when nothing is due"
        )
        parser.add_argument("--batch", type=int, default=100, help="tasks per round at most")

    def handle(self, *args: object, **options: Any) -> None:
        interval, batch = options["interval"], options["batch"]
        if not (0 < interval <= MAX_INTERVAL) or batch <= 0:
            raise CommandError(
                f"--interval must be positive (at most {MAX_INTERVAL:g} s) and --batch positive",
                returncode=2,
            )
        levels = {name: logging.getLogger(name).level for name in TASK_LOGGERS}
        if options["verbosity"] < 2:
            for name in TASK_LOGGERS:
                logging.getLogger(name).setLevel(logging.WARNING)
        try:
            if options["once"]:
                counts, _ = Runner(batch=None).round()
                self._report(counts, quiet=False)
            else:
                self._run(Runner(batch=batch), interval, batch)
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)

    def _run(self, runner: Runner, interval: float, batch: int) -> None:
        def _stop(signum: int, frame: object) -> None:
            if runner.stopping.is_set():
                sys.exit(1)  # asked twice: do not wait for the task in hand
            runner.stop()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write("worker started")
        self.stdout.flush()
        try:
            while not runner.stopping.is_set():
                try:
                    counts, ran = runner.round()
                except DatabaseError as exc:  # e.g. the database restarts: keep going
                    log.error("worker round failed: %s; trying again", type(exc).__name__)
                    connections.close_all()
                    runner.stopping.wait(max(interval, RETRY_AFTER_ERROR))
                    continue
                self._report(counts, quiet=True)
                if ran < batch:  # the queue ran dry: wait before looking again
                    runner.stopping.wait(interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("worker stopped")
        self.stdout.flush()

    def _report(self, counts: Counter[str], *, quiet: bool) -> None:
        if quiet and not counts:
            return
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing due"
        self.stdout.write(summary)
        self.stdout.flush()
