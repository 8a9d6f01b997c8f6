"""Password reset does the same work in the request whether or not the address has an account:
the same queries, one queued task, no token, no rendering and no SMTP conversation; the worker
sends the mail afterwards."""

from __future__ import annotations

import io
import re

import pytest
from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
UNKNOWN = "nobody-here@example.com"


def shape(sql: str) -> str:
    """A statement without its values (which differ: the address, the ids, the times) and
    savepoint names."""
    return re.sub(r'"s\d+_x\d+"|\'[^\']*\'|\b\d+\b|%s|\?', "?", sql)


@pytest.fixture
def calls(monkeypatch):
    counted = {"make_token": 0, "render_mail": 0}

    def counting(name, real):
        def wrapper(*args, **kwargs):
            counted[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        PasswordResetTokenGenerator,
        "make_token",
        counting("make_token", PasswordResetTokenGenerator.make_token),
    )
    monkeypatch.setattr(
        DefaultAccountAdapter,
        "render_mail",
        counting("render_mail", DefaultAccountAdapter.render_mail),
    )
    return counted


def reset(email: str, calls: dict[str, int], address: str) -> tuple[list[str], dict[str, int], int]:
    """(statement shapes, calls made, tasks queued) of one reset request from ``address``
    (each its own, so that the per-address rate limit starts from nothing for both)."""
    for name in calls:
        calls[name] = 0
    tasks_before = DBTaskResult.objects.count()
    client = Client(REMOTE_ADDR=address)
    client.get(RESET)  # the session and CSRF cookie, outside the measured request
    with CaptureQueriesContext(connection) as queries:
        response = client.post(RESET, {"email": email})
    assert response.status_code == 302
    return (
        [shape(q["sql"]) for q in queries.captured_queries],
        dict(calls),
        DBTaskResult.objects.count() - tasks_before,
    )


def test_known_and_unknown_addresses_do_the_same_work(patient_user, smtp_server, calls):
    known = reset(patient_user.email, calls, "192.0.2.1")
    unknown = reset(UNKNOWN, calls, "192.0.2.2")
    assert known == unknown
    _statements, made, queued = known
    assert made == {"make_token": 0, "render_mail": 0}  # both happen in the worker
    assert queued == 1
    assert smtp_server.messages == []  # no SMTP conversation during the request


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_the_worker_sends_the_mail_to_the_known_address_only(patient_user, smtp_server, calls):
    Client().post(RESET, {"email": patient_user.email})
    Client().post(RESET, {"email": UNKNOWN})
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    (message,) = smtp_server.messages
    assert message.envelope_rcpt == [patient_user.email]
    assert calls["make_token"] == calls["render_mail"] == 1
    assert re.search(
        r"http://127\.0\.0\.1:8000/accounts/password/reset/key/\S+", message.get_content()
    )


def test_the_queue_holds_ids_only(patient_user):
    Client().post(RESET, {"email": patient_user.email})
    Client().post(RESET, {"email": UNKNOWN})
    known, unknown = DBTaskResult.objects.order_by("enqueued_at")
    assert known.args_kwargs["args"] == [[patient_user.pk]]
    assert unknown.args_kwargs["args"] == [[]]
    for row in (known, unknown):
        assert "@" not in str(row.args_kwargs)
