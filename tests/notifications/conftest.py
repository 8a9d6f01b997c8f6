"""Fixtures for the notifications tests: a patient login with a distinctive name, the practice
world, helpers to read received mail whole, and an SMTP server that can stall."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import uuid
from email import policy
from email.parser import BytesParser

import pytest

from carethread.accounts.models import User
from carethread.core.models import Organization, Patient

DISTINCTIVE = "Quixotefeather"


@pytest.fixture
def patient_user(db):
    org = Organization.objects.create(tin="271234599", name="Riverside Family Medicine")
    user = User.objects.create_user("zeb@example.org", "a-long-password-123")
    Patient.objects.create(
        mrn="MRN-Q-77",
        family_name=DISTINCTIVE,
        given_name="Zebulon",
        birth_date=dt.date(1971, 3, 4),
        email="zeb@example.org",
        managing_organization=org,
        user=user,
    )
    return user


@pytest.fixture
def message_id():
    return uuid.uuid4()


@pytest.fixture
def no_app_checks(monkeypatch):
    """Delivery mechanics only: no per-kind checks or sender names of other apps."""
    from carethread.notifications import checks, senders

    monkeypatch.setattr(checks, "_CHECKS", {})
    monkeypatch.setattr(senders, "_RESOLVERS", {})


@pytest.fixture
def world(db):
    from support.world import build_world

    return build_world()


def everything_in(mail) -> str:
    """Every header (decoded) and every part (decoded) of a received mail, plus its raw text:
    what a PHI check must search."""
    pieces = [mail.as_string()]
    for part in mail.walk():
        pieces += [f"{name}: {value}" for name, value in part.items()]
        if not part.is_multipart():
            pieces.append(str(part.get_content()))
    return "\n".join(pieces)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StallingHandler:
    """An aiosmtpd handler that keeps every mail and, on request, stalls one conversation.

    ``mode`` "normal": answer at once. "stall_ehlo": the next EHLO gets no answer until
    ``release()``. "stall_data": the next message is kept (it reached the server) but its
    reply is held back until ``release()`` or for ``data_delay`` seconds when that is set.
    ``ehlo_stalled`` / ``data_stalled`` are set when a stall begins.
    """

    def __init__(self) -> None:
        self.mode = "normal"
        self.data_delay: float | None = None
        self.received: list = []
        self.ehlo_stalled = threading.Event()
        self.data_stalled = threading.Event()
        self._released = threading.Event()
        self.lock = threading.Lock()

    def release(self) -> None:
        self._released.set()

    async def _hold(self, seconds: float | None) -> None:
        waited = 0.0
        while not self._released.is_set() and (seconds is None or waited < seconds):
            await asyncio.sleep(0.05)
            waited += 0.05

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
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
        return "250 Message accepted for delivery"

    def count_for(self, address: str) -> int:
        with self.lock:
            return sum(address in m.envelope_rcpt for m in self.received)


@pytest.fixture
def stalling_smtp(settings):
    """A real SMTP server (aiosmtpd) with a ``StallingHandler``; Django's backend points at it.
    Yields the handler; ``handler.port`` is its port."""
    from aiosmtpd.controller import Controller

    handler = StallingHandler()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", handler.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield handler
    finally:
        handler.release()
        controller.stop()
