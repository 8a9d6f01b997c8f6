"""Delivery through a real SMTP server: once, PHI-free, re-checked, retried, lease-safe."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.utils import timezone

from carethread.accounts.models import User
from carethread.notifications import actions, checks, delivery
from carethread.notifications.models import Notification

pytestmark = pytest.mark.django_db
DISTINCTIVE = "Quixotefeather"  # the family name of the patient_user fixture
KIND = actions.KIND_MESSAGE_NEW
State = Notification.State


def _one(user, subject_id, **kw):
    [nid] = actions.enqueue(KIND, subject_id, [user], **kw)
    return nid


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_delivered_once_with_stable_headers_and_no_phi(smtp_server, patient_user, message_id):
    nid = _one(patient_user, message_id, practice_name="Riverside Family Medicine")
    assert delivery.deliver(nid) == State.SENT
    assert delivery.deliver(nid) is None  # already sent: not claimable again
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    row = Notification.objects.get(id=nid)
    assert row.state == State.SENT and row.sent_at is not None and row.attempts == 1
    assert mail["Subject"] == "You have a new secure message"
    assert mail["Message-ID"].strip() == f"<notification-{row.uuid}@carethread.localhost>"
    assert mail.envelope_rcpt == ["zeb@example.org"]
    body = mail.get_content()
    assert "Riverside Family Medicine" in body
    assert "http://127.0.0.1:8000/accounts/login/" in body
    raw = mail.as_string()
    for phi in (DISTINCTIVE, "Zebulon", "MRN-Q-77", "1971", str(message_id)):
        assert phi not in raw


def test_generic_place_without_practice_name(smtp_server, patient_user, message_id):
    delivery.deliver(_one(patient_user, message_id))
    assert "your care team's secure portal" in smtp_server.messages[0].get_content()


def test_duplicate_enqueue_keeps_one_row(patient_user, message_id):
    first = actions.enqueue(KIND, message_id, [patient_user, patient_user])
    second = actions.enqueue(KIND, message_id, [patient_user.pk])
    assert first == second
    assert Notification.objects.count() == 1


@pytest.mark.parametrize("reason", ["recipient_blocked", "recipient_inactive", "opted_out"])
def test_recheck_skips_unwanted(smtp_server, patient_user, message_id, reason):
    nid = _one(patient_user, message_id)
    if reason == "recipient_blocked":
        User.objects.filter(pk=patient_user.pk).update(blocked_at=timezone.now())
    elif reason == "recipient_inactive":
        User.objects.filter(pk=patient_user.pk).update(is_active=False)
    else:
        actions.set_email_preference(patient_user, KIND, enabled=False)
    assert delivery.deliver(nid) == State.SKIPPED
    row = Notification.objects.get(id=nid)
    assert (row.state, row.last_error_code) == (State.SKIPPED, reason)
    assert smtp_server.messages == []


def test_opting_back_in_and_other_kinds_still_send(smtp_server, patient_user, message_id):
    actions.set_email_preference(patient_user, "other.kind", enabled=False)
    actions.set_email_preference(patient_user, KIND, enabled=False)
    actions.set_email_preference(patient_user, KIND, enabled=True)
    assert delivery.deliver(_one(patient_user, message_id)) == State.SENT


def test_kind_check_registered_by_another_app(smtp_server, patient_user, message_id):
    def already_read(notification):
        return "already_read" if notification.subject_id == message_id else None

    checks.register_check(KIND, already_read)
    try:
        assert delivery.deliver(_one(patient_user, message_id)) == State.SKIPPED
        other = delivery.deliver(_one(patient_user, type(message_id)(int=7)))
    finally:
        checks.unregister_check(KIND, already_read)
    assert other == State.SENT
    assert len(smtp_server.messages) == 1


def test_server_down_is_retried_with_backoff_then_delivered(
    smtp_server, settings, patient_user, message_id
):
    up_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = _closed_port()
    nid = _one(patient_user, message_id)
    before = timezone.now()
    assert delivery.deliver(nid) == State.PENDING
    row = Notification.objects.get(id=nid)
    assert (row.attempts, row.last_error_code) == (1, "connection_refused")
    assert before + dt.timedelta(seconds=29) < row.next_attempt_at
    assert row.next_attempt_at < timezone.now() + dt.timedelta(seconds=31)
    assert delivery.deliver(nid) is None  # not due yet
    # Second failure doubles the delay.
    Notification.objects.filter(id=nid).update(next_attempt_at=timezone.now())
    before = timezone.now()
    assert delivery.deliver(nid) == State.PENDING
    row = Notification.objects.get(id=nid)
    assert row.next_attempt_at > before + dt.timedelta(seconds=59)
    # The server is back and the retry is due.
    settings.EMAIL_PORT = up_port
    Notification.objects.filter(id=nid).update(next_attempt_at=timezone.now())
    assert delivery.deliver(nid) == State.SENT
    assert Notification.objects.get(id=nid).attempts == 3
    assert len(smtp_server.messages) == 1


def test_gives_up_after_max_attempts(smtp_server, settings, patient_user, message_id):
    settings.EMAIL_PORT = _closed_port()
    settings.CARETHREAD_NOTIFICATION_MAX_ATTEMPTS = 2
    settings.CARETHREAD_NOTIFICATION_BACKOFF_BASE = dt.timedelta(0)
    nid = _one(patient_user, message_id)
    assert delivery.deliver(nid) == State.PENDING
    assert delivery.deliver(nid) == State.FAILED
    assert delivery.deliver(nid) is None
    row = Notification.objects.get(id=nid)
    assert (row.state, row.attempts, row.last_error_code) == (State.FAILED, 2, "connection_refused")


def test_only_one_claim_wins(patient_user, message_id):
    nid = _one(patient_user, message_id)
    assert delivery.claim(nid) is not None
    assert delivery.claim(nid) is None


def test_crash_before_handing_over_is_retried_once(smtp_server, patient_user, message_id):
    """A worker died after claiming but before SMTP: the row goes back to pending, sent once."""
    nid = _one(patient_user, message_id)
    stale = delivery.claim(nid)
    Notification.objects.filter(id=nid).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert delivery.sweep_expired() == (1, 0)
    assert delivery.deliver(nid) == State.SENT
    # The dead worker's claim can no longer change the row.
    assert not delivery._finish(nid, stale, state=State.FAILED)
    assert Notification.objects.get(id=nid).state == State.SENT
    assert len(smtp_server.messages) == 1


def test_crash_during_smtp_is_never_resent(smtp_server, patient_user, message_id):
    """A worker died after handing the mail to SMTP: outcome unknown, never sent again."""
    nid = _one(patient_user, message_id)
    delivery.claim(nid)
    Notification.objects.filter(id=nid).update(
        handed_at=timezone.now(), lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert delivery.run_once() == {}
    row = Notification.objects.get(id=nid)
    assert (row.state, row.last_error_code) == (State.FAILED, "outcome_unknown")
    assert smtp_server.messages == []


def test_live_lease_is_not_swept(patient_user, message_id):
    nid = _one(patient_user, message_id)
    delivery.claim(nid)
    assert delivery.sweep_expired() == (0, 0)
    assert Notification.objects.get(id=nid).state == State.SENDING


def test_enqueue_joins_the_callers_transaction(patient_user, message_id):
    from django.db import transaction

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        actions.enqueue(KIND, message_id, [patient_user])
        raise Boom
    assert not Notification.objects.exists()


def test_permanent_smtp_refusal_fails_at_once(smtp_server, monkeypatch, patient_user, message_id):
    async def refuse(server, session, envelope):
        return "550 mailbox unavailable"

    monkeypatch.setattr(smtp_server, "handle_DATA", refuse)
    nid = _one(patient_user, message_id)
    assert delivery.deliver(nid) == State.FAILED
    row = Notification.objects.get(id=nid)
    assert (row.state, row.attempts, row.last_error_code) == (State.FAILED, 1, "smtp_550")
