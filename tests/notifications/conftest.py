"""Fixtures for the notifications tests: a patient login with a distinctive name, the practice
world, helpers to read received mail whole, and an SMTP server that can stall."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from carethread.accounts.models import User
from carethread.core.models import Organization, Patient

from . import smtp_stall
from .smtp_stall import StallingHandler, free_port

__all__ = ["StallingHandler", "free_port"]

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


def everything_in(mail) -> str:
    """Every header (decoded) and every part (decoded) of a received mail, plus its raw text:
    what a PHI check must search."""
    pieces = [mail.as_string()]
    for part in mail.walk():
        pieces += [f"{name}: {value}" for name, value in part.items()]
        if not part.is_multipart():
            pieces.append(str(part.get_content()))
    return "\n".join(pieces)


@pytest.fixture
def stalling_smtp(settings):
    """A real SMTP server (aiosmtpd) with a ``StallingHandler``; Django's backend points at it.
    Yields the handler; ``handler.port`` is its port."""
    handler = StallingHandler()
    controller = smtp_stall.start(handler)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", handler.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield handler
    finally:
        handler.release()
        controller.stop()
