"""The worker (--once, end to end), concurrent deliveries, and the mail sink."""

from __future__ import annotations

import io
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from email.message import EmailMessage

import pytest
from django.core.management import call_command
from django.db import connection

from carethread.notifications import actions, delivery
from carethread.notifications.models import Notification

KIND = actions.KIND_MESSAGE_NEW


@pytest.mark.django_db
def test_worker_once_delivers_due_and_leaves_the_rest(smtp_server, patient_user, message_id):
    from django.utils import timezone

    due = actions.enqueue(KIND, message_id, [patient_user])
    later = actions.enqueue("message.other", message_id, [patient_user])
    Notification.objects.filter(id__in=later).update(
        next_attempt_at=timezone.now() + timezone.timedelta(hours=1)
    )
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "sent 1"
    assert Notification.objects.get(id=due[0]).state == "sent"
    assert Notification.objects.get(id=later[0]).state == "pending"
    assert len(smtp_server.messages) == 1
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "nothing due"
    assert len(smtp_server.messages) == 1


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_mailsink_stores_eml_and_prints_no_content(tmp_path):
    port = _free_port()
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
