"""Shared fixtures. Every test runs on the database named by DATABASE_URL (SQLite by default)."""

from __future__ import annotations

import logging

import pytest

# aiosmtpd logs client disconnects at shutdown, after pytest closed the captured stream.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


def pytest_configure(config):
    from django.conf import settings

    # The production hasher, with a smaller work factor (tests create many logins).
    settings.PASSWORD_HASHERS = [
        "support.hashers.FastPBKDF2PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


@pytest.fixture(autouse=True)
def _isolated_var_dir(tmp_path, settings):
    """Files the service writes at run time go to a per-test folder."""
    settings.CARETHREAD_VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def world(db):
    """``build_world()``: two practices, their people, pools and patients (support/world.py)."""
    from support.world import build_world

    return build_world()


@pytest.fixture
def patient_client(world):
    """A test client signed in as the world's patient (Lopez)."""
    from support.world import client_of

    return client_of(world.patient.user)


@pytest.fixture
def clinician_client(world):
    """A test client signed in as c1, the patient's clinician at Riverside."""
    from support.world import client_of

    return client_of(world.c1.user)


@pytest.fixture
def thread(world):
    """The patient's question to c1 ("Dose question" / "Morning or evening?")."""
    from support.world import patient_question

    return patient_question(world).thread


@pytest.fixture
def org(db):
    """Riverside (TIN 271234567), without anyone in it (support/people.py)."""
    from support.people import riverside

    return riverside()


@pytest.fixture
def clinician_user(org):
    """A practice user of ``org`` who is not an admin (MFA already set up)."""
    from support.people import practice_user

    return practice_user(org, "clinician@riverside.example.org")


@pytest.fixture
def new_clinician(org):
    """A practice user of ``org`` who has not set up MFA yet."""
    from support.people import practice_user

    return practice_user(org, "new@riverside.example.org", mfa=False)


class _CollectingHandler:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        import email
        from email import policy

        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        message.envelope_rcpt = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on a free local port; Django's SMTP backend points at it.

    Yields the handler: ``smtp_server.messages`` lists the received ``email.message.EmailMessage``s.
    """
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = _CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield handler
    finally:
        controller.stop()
