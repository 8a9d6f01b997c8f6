"""``carethread serve``: the production server (gunicorn) with the project's WSGI application."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run the production web server (gunicorn)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("CARETHREAD_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers", type=int, default=os.environ.get("CARETHREAD_WORKERS", "4")
        )
        parser.add_argument(
            "--threads", type=int, default=os.environ.get("CARETHREAD_THREADS", "1")
        )
        parser.add_argument("--timeout", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1", returncode=2)
        here = os.path.dirname(sys.executable)
        gunicorn = shutil.which("gunicorn", path=here) or shutil.which("gunicorn")
        if gunicorn is None:
            raise CommandError("gunicorn is not installed in this environment")
        argv = [
            gunicorn,
            "carethread.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--timeout",
            str(options["timeout"]),
            # Access logs would carry URLs only (never PHI), but they are noise at this level.
            "--access-logfile",
            "-" if os.environ.get("CARETHREAD_ACCESS_LOG") == "1" else "/dev/null",
        ]
        os.execv(gunicorn, argv)  # noqa: S606 - replaces this process with gunicorn
