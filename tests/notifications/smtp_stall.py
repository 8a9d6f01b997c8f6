"""An SMTP server (aiosmtpd) for the delivery tests that keeps every mail and, on request,
stalls a conversation: used by the pytest fixtures and by ``bench/notification_kills.py``.
Imports nothing of Carethread."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from email import policy
from email.parser import BytesParser
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StallingHandler:
    """An aiosmtpd handler that keeps every mail and, on request, stalls one conversation.

    ``mode`` "normal": answer at once (after a random ``reply_delay`` when that range is set).
    "stall_ehlo": the next EHLO gets no answer until ``release()``. "stall_data": the next
    message is kept (it reached the server) but its reply is held back until ``release()`` or
    for ``data_delay`` seconds when that is set. ``ehlo_stalled`` / ``data_stalled`` are set
    when a stall begins, ``greeted`` at every EHLO; ``arm(mode)`` clears them for the next one.
    """

    def __init__(self) -> None:
        self.mode = "normal"
        self.port = 0
        self.data_delay: float | None = None
        self.reply_delay: tuple[float, float] | None = None
        self.received: list = []
        self.ehlo_stalled = threading.Event()
        self.data_stalled = threading.Event()
        self.greeted = threading.Event()
        self._released = threading.Event()
        self.lock = threading.Lock()
        self.random = random.Random(0)

    def release(self) -> None:
        self._released.set()

    def arm(self, mode: str) -> None:
        """Set ``mode`` for what comes next, with fresh stall events."""
        for event in (self.ehlo_stalled, self.data_stalled, self.greeted, self._released):
            event.clear()
        self.mode = mode

    async def _hold(self, seconds: float | None) -> None:
        waited = 0.0
        while not self._released.is_set() and (seconds is None or waited < seconds):
            await asyncio.sleep(0.05)
            waited += 0.05

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.greeted.set()
        if self.mode == "stall_ehlo" and not self.ehlo_stalled.is_set():
            self.ehlo_stalled.set()
            await self._hold(None)
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        message.envelope_rcpt = list(envelope.rcpt_tos)
        with self.lock:
            self.received.append(message)
        if self.mode == "stall_data" and not self.data_stalled.is_set():
            self.data_stalled.set()
            await self._hold(self.data_delay)
        elif self.reply_delay is not None:
            await asyncio.sleep(self.random.uniform(*self.reply_delay))
        return "250 Message accepted for delivery"

    def count_for(self, address: str) -> int:
        with self.lock:
            return sum(address in m.envelope_rcpt for m in self.received)

    def message_ids(self) -> list[tuple[str, tuple[str, ...]]]:
        """(Message-ID, recipients) of every mail received, in order."""
        with self.lock:
            return [(str(m["Message-ID"]).strip(), tuple(m.envelope_rcpt)) for m in self.received]


def start(handler: StallingHandler) -> Any:
    """Serve ``handler`` on a free local port (set as ``handler.port``); returns the
    controller (``.stop()`` it)."""
    from aiosmtpd.controller import Controller

    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    return controller
