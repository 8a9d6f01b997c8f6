"""``carethread mailsink [--host H] [--port 8025]``: a local SMTP server for the demo.

Every received mail is written to ``<var>/mail/<time>-<n>.eml``; one line per mail is printed,
naming the file and the number of recipients (never the content). Stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import itertools
import logging
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session


class _Store:
    def __init__(self, folder: Path, command: BaseCommand) -> None:
        self.folder = folder
        self.command = command
        self.counter = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd's hook for a received mail."""
        n = next(self.counter)
        path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{n:05d}.eml"
        content = envelope.original_content or b""
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        self.command.stdout.write(f"mail {n}: {len(envelope.rcpt_tos)} recipient(s) -> {path}")
        self.command.stdout.flush()
        return "250 Message accepted for delivery"


class Command(BaseCommand):
    help = "Run a local SMTP server that stores received mail as .eml files under <var>/mail/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)

    def handle(self, *args: object, **options: Any) -> None:
        # aiosmtpd logs envelope addresses at INFO: keep them out of the logs.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        from aiosmtpd.controller import Controller

        port = options["port"]
        if not 0 < port < 65536:
            raise CommandError("--port must be between 1 and 65535", returncode=2)
        folder = Path(settings.CARETHREAD_VAR_DIR) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        controller = Controller(_Store(folder, self), hostname=options["host"], port=port)
        try:
            controller.start()
        except Exception as exc:
            raise CommandError(f"cannot listen on {options['host']}:{port}: {exc}") from exc
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: stop.set())
        self.stdout.write(f"mailsink listening on {options['host']}:{port}, saving to {folder}")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            controller.stop()
        self.stdout.write("mailsink stopped")
