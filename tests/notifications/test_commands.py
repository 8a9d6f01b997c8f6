"""The worker command (--once, in process), concurrent deliveries, and the mail sink."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from email.message import EmailMessage

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from carethread.notifications import actions, delivery
from carethread.notifications.models import Notification

from .conftest import free_port

KIND = actions.KIND_MESSAGE_NEW


@pytest.fixture(autouse=True)
def _mechanics_only(no_app_checks):
    """These tests use made-up subjects: the messaging checks would skip them."""


# The worker closes "old" database connections between tasks (as a request would); inside a
# test's transaction that would drop it, so the worker tests commit for real.
@pytest.mark.django_db(transaction=True)
def test_worker_once_delivers_due_and_leaves_the_rest(smtp_server, settings, patient_user):
    settings.EMAIL_PORT, up_port = free_port(), settings.EMAIL_PORT  # the server is down
    actions.enqueue(KIND, uuid.uuid4(), [patient_user])
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "pending 1"  # a retry is queued for later
    [row] = Notification.objects.all()
    retry = DBTaskResult.objects.get(id=row.task_id)
    assert retry.status == "READY" and retry.run_after > timezone.now()
    settings.EMAIL_PORT = up_port
    fresh = actions.enqueue(KIND, uuid.uuid4(), [patient_user])
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "sent 1"
    assert Notification.objects.get(id=fresh[0]).state == "sent"
    assert Notification.objects.get(id=row.id).state == "pending"  # its retry is not due yet
    assert len(smtp_server.messages) == 1
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "nothing due"
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_worker_once_runs_due_retries_until_delivered(
    smtp_server, settings, monkeypatch, patient_user
):
    """A server answering 4xx twice: with no back-off the retries are due at once, so one
    --once run retries until the mail is accepted."""
    settings.CARETHREAD_NOTIFICATION_BACKOFF_BASE = dt.timedelta(0)
    refusals = {"left": 2}
    accept = smtp_server.handle_DATA

    async def busy(server, session, envelope):
        if refusals["left"]:
            refusals["left"] -= 1
            return "421 4.3.2 busy, try again"
        return await accept(server, session, envelope)

    monkeypatch.setattr(smtp_server, "handle_DATA", busy)
    [nid] = actions.enqueue(KIND, uuid.uuid4(), [patient_user])
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "pending 2, sent 1"
    row = Notification.objects.get(id=nid)
    assert (row.state, row.attempts) == ("sent", 3)
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_worker_once_sweeps_expired_claims_first(smtp_server, patient_user):
    [nid] = actions.enqueue(KIND, uuid.uuid4(), [patient_user])
    delivery.claim(nid)  # a worker claimed it and died
    Notification.objects.filter(id=nid).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    # The row now has two queued tasks: one delivers it, the other finds it taken.
    assert sorted(out.getvalue().strip().split(", ")) == ["requeued 1", "sent 1", "taken 1"]
    assert len(smtp_server.messages) == 1


def test_worker_bad_arguments_exit_2(tmp_path):
    env = {**os.environ, "CARETHREAD_VAR_DIR": str(tmp_path)}
    for args in (["--interval", "0"], ["--interval", "inf"], ["--batch", "-1"]):
        proc = subprocess.run(
            [sys.executable, "-m", "carethread", "worker", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2
        assert "must be positive" in proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_send_one_mail(smtp_server, patient_user, message_id):
    [nid] = actions.enqueue(KIND, message_id, [patient_user])
    barrier = threading.Barrier(2)
    results: list = []

    def work():
        try:
            barrier.wait()
            results.append(delivery.deliver(nid))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == sorted(["sent", None], key=str)
    assert len(smtp_server.messages) == 1


def test_mailsink_stores_eml_and_prints_no_content(tmp_path):
    port = free_port()
    env = {**os.environ, "CARETHREAD_VAR_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "carethread", "mailsink", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "Secretive"
        msg.set_content("body text Quixotefeather")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(msg)
        line = proc.stdout.readline()
        assert "1 recipient(s)" in line
        assert "Secretive" not in line and "Quixotefeather" not in line
        [eml] = list((tmp_path / "mail").glob("*.eml"))
        assert b"Quixotefeather" in eml.read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert proc.returncode == 0


def test_mailsink_bad_port_exits_2(tmp_path):
    env = {**os.environ, "CARETHREAD_VAR_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "carethread", "mailsink", "--port", "70000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--port" in proc.stderr
