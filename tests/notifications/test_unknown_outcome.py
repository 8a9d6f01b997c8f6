"""A hand-over whose outcome is unknown is never the end of a notification: it is retried with
the same ``Message-ID`` (stored on the row when the email is first built), the retries are
counted, and the re-checks still run before every retry."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from carethread.accounts.models import User
from carethread.notifications import actions, delivery
from carethread.notifications.models import Notification

pytestmark = pytest.mark.django_db
KIND = actions.KIND_MESSAGE_NEW
State = Notification.State


@pytest.fixture(autouse=True)
def _mechanics_only(no_app_checks):
    """These tests use made-up subjects: the messaging checks would skip them."""


def _one(user, subject_id):
    [nid] = actions.enqueue(KIND, subject_id, [user])
    return nid


def _make_due(nid):
    Notification.objects.filter(id=nid).update(next_attempt_at=timezone.now())


def _expire(nid, **fields):
    Notification.objects.filter(id=nid).update(
        lease_until=timezone.now() - dt.timedelta(seconds=1), **fields
    )


def _ids(server, address="zeb@example.org"):
    return [m["Message-ID"].strip() for m in server.received if address in m.envelope_rcpt]


def _no_reply_in_time(stalling_smtp, settings):
    """The next message reaches the server, whose "250" comes after the client gave up."""
    settings.EMAIL_TIMEOUT = 1
    stalling_smtp.mode, stalling_smtp.data_delay = "stall_data", 3


def test_no_reply_after_the_message_went_out_is_retried_with_the_same_message_id(
    stalling_smtp, settings, patient_user, message_id
):
    _no_reply_in_time(stalling_smtp, settings)
    nid = _one(patient_user, message_id)
    before = timezone.now()
    assert delivery.deliver(nid) == State.PENDING
    row = Notification.objects.get(id=nid)
    assert (row.state, row.last_error_code) == (State.PENDING, "outcome_unknown")
    assert row.unknown_outcome_retries == 1
    assert row.message_id == f"<notification-{row.uuid}@carethread.localhost>"
    # Retried later, with back-off, by a new delivery task.
    assert row.next_attempt_at >= before + dt.timedelta(seconds=29)
    retry = DBTaskResult.objects.get(id=row.task_id)
    assert retry.status == "READY" and retry.args_kwargs["args"] == [nid]
    assert delivery.deliver(nid) is None  # not due yet
    stalling_smtp.mode = "normal"
    _make_due(nid)
    assert delivery.deliver(nid) == State.SENT
    row = Notification.objects.get(id=nid)
    assert (row.state, row.unknown_outcome_retries, row.attempts) == (State.SENT, 1, 2)
    assert row.last_error_code == ""
    # The first did arrive: the duplicate carries the same Message-ID, so it is one.
    assert _ids(stalling_smtp) == [row.message_id, row.message_id]


def test_swept_lease_after_hand_over_is_pending_again_with_one_more_retry(
    stalling_smtp, patient_user, message_id
):
    """The worker died after handing the mail over: the row is due again at once, with a new
    task and its retry counted; the retry reuses the Message-ID."""
    nid = _one(patient_user, message_id)
    first_task = Notification.objects.get(id=nid).task_id
    delivery.claim(nid)
    Notification.objects.filter(id=nid).update(message_id="<kept-on-the-row@example.org>")
    _expire(nid, handed_at=timezone.now())
    assert delivery.sweep() == {"outcome_unknown": 1}
    row = Notification.objects.get(id=nid)
    assert (row.state, row.last_error_code) == (State.PENDING, "outcome_unknown")
    assert row.unknown_outcome_retries == 1
    assert row.claim_token is None and row.next_attempt_at <= timezone.now()
    assert row.task_id != first_task
    assert DBTaskResult.objects.get(id=row.task_id).status == "READY"
    # Killed again after the next hand-over: one more.
    delivery.claim(nid)
    _expire(nid, handed_at=timezone.now())
    assert delivery.sweep() == {"outcome_unknown": 1}
    assert Notification.objects.get(id=nid).unknown_outcome_retries == 2
    assert delivery.deliver(nid) == State.SENT
    assert _ids(stalling_smtp) == ["<kept-on-the-row@example.org>"]


def test_the_message_id_is_kept_from_the_first_build(
    stalling_smtp, settings, patient_user, message_id
):
    """The Message-ID is written on the row when the email is first built; a later change of
    the sender's domain does not change it."""
    _no_reply_in_time(stalling_smtp, settings)
    settings.DEFAULT_FROM_EMAIL = "Carethread <noreply@first.example>"
    nid = _one(patient_user, message_id)
    assert Notification.objects.get(id=nid).message_id == ""
    assert delivery.deliver(nid) == State.PENDING
    first = Notification.objects.get(id=nid).message_id
    assert first.endswith("@first.example>")
    settings.DEFAULT_FROM_EMAIL = "Carethread <noreply@second.example>"
    stalling_smtp.mode = "normal"
    _make_due(nid)
    assert delivery.deliver(nid) == State.SENT
    assert Notification.objects.get(id=nid).message_id == first
    assert _ids(stalling_smtp) == [first, first]


def test_a_retry_after_an_unknown_outcome_is_re_checked(
    stalling_smtp, settings, patient_user, message_id
):
    _no_reply_in_time(stalling_smtp, settings)
    nid = _one(patient_user, message_id)
    assert delivery.deliver(nid) == State.PENDING
    User.objects.filter(pk=patient_user.pk).update(blocked_at=timezone.now())
    stalling_smtp.mode = "normal"
    _make_due(nid)
    assert delivery.deliver(nid) == State.SKIPPED
    row = Notification.objects.get(id=nid)
    assert (row.last_error_code, row.unknown_outcome_retries) == ("recipient_blocked", 1)
    assert len(_ids(stalling_smtp)) == 1  # only the first hand-over


def test_swept_retry_is_re_checked(stalling_smtp, patient_user, message_id):
    nid = _one(patient_user, message_id)
    delivery.claim(nid)
    _expire(nid, handed_at=timezone.now())
    delivery.sweep()
    actions.set_email_preference(patient_user, KIND, enabled=False)
    assert delivery.deliver(nid) == State.SKIPPED
    assert Notification.objects.get(id=nid).last_error_code == "opted_out"
    assert stalling_smtp.received == []


def test_unknown_outcomes_do_not_use_up_the_attempts_for_other_failures(
    smtp_server, settings, patient_user, message_id
):
    """Claims that ended with an unknown outcome are not failures: a row killed twice during
    SMTP still gets its full number of retries when the server is down."""
    settings.CARETHREAD_NOTIFICATION_MAX_ATTEMPTS = 2
    settings.CARETHREAD_NOTIFICATION_BACKOFF_BASE = dt.timedelta(0)
    nid = _one(patient_user, message_id)
    for _ in range(2):
        delivery.claim(nid)
        _expire(nid, handed_at=timezone.now())
        delivery.sweep()
    up_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there
    assert delivery.deliver(nid) == State.PENDING  # attempt 3, the first real failure
    settings.EMAIL_PORT = up_port
    assert delivery.deliver(nid) == State.SENT
    row = Notification.objects.get(id=nid)
    assert (row.attempts, row.unknown_outcome_retries) == (4, 2)


def test_unknown_outcomes_have_a_ceiling(settings, patient_user, message_id):
    """A hand-over that never comes back with an answer (e.g. it crashes the worker every time)
    is not re-sent for ever: past the ceiling the row ends ``failed`` and the admin sees it."""
    settings.CARETHREAD_NOTIFICATION_MAX_UNKNOWN_RETRIES = 2
    nid = _one(patient_user, message_id)
    for expected in ({"outcome_unknown": 1}, {"outcome_unknown": 1}, {"failed": 1}):
        assert delivery.claim(nid) is not None
        _expire(nid, handed_at=timezone.now())
        assert delivery.sweep() == expected
    row = Notification.objects.get(id=nid)
    assert (row.state, row.last_error_code) == (State.FAILED, "outcome_unknown")
    assert row.unknown_outcome_retries == 2


def test_a_definite_refusal_after_an_unknown_outcome_still_fails(
    stalling_smtp, settings, monkeypatch, patient_user, message_id
):
    _no_reply_in_time(stalling_smtp, settings)
    nid = _one(patient_user, message_id)
    assert delivery.deliver(nid) == State.PENDING

    async def refuse(server, session, envelope):
        return "550 mailbox unavailable"

    monkeypatch.setattr(stalling_smtp, "handle_DATA", refuse)
    _make_due(nid)
    assert delivery.deliver(nid) == State.FAILED
    row = Notification.objects.get(id=nid)
    assert (row.last_error_code, row.unknown_outcome_retries) == ("smtp_550", 1)


def test_rows_that_ended_with_an_unknown_outcome_before_are_due_again(
    smtp_server, patient_user, message_id
):
    """The migration re-arms what the earlier rule left ``failed``/``outcome_unknown``; the
    sweep gives it a task; it is re-checked and sent with the Message-ID the first one had."""
    migration = importlib.import_module(
        "carethread.notifications.migrations.0003_message_id_and_unknown_outcome_retries"
    )
    nid = _one(patient_user, message_id)
    old = _one(patient_user, type(message_id)(int=8))
    refused = _one(patient_user, type(message_id)(int=9))
    Notification.objects.filter(id__in=[nid, old]).update(
        state=State.FAILED, last_error_code="outcome_unknown", handed_at=timezone.now()
    )
    Notification.objects.filter(id=refused).update(state=State.FAILED, last_error_code="smtp_550")
    DBTaskResult.objects.update(status="SUCCESSFUL")  # their tasks ran long ago
    migration.rearm_unknown_outcomes(django_apps, None)
    row = Notification.objects.get(id=nid)
    assert (row.state, row.unknown_outcome_retries, row.handed_at) == (State.PENDING, 1, None)
    assert Notification.objects.get(id=refused).state == State.FAILED  # a definite refusal
    later = timezone.now() - delivery.lease() - dt.timedelta(seconds=1)  # a sweep a lease later
    Notification.objects.filter(state=State.PENDING).update(next_attempt_at=later)
    assert delivery.sweep()["requeued"] == 2
    assert delivery.deliver(nid) == State.SENT
    mail = smtp_server.messages[0]
    assert mail["Message-ID"].strip() == f"<notification-{row.uuid}@carethread.localhost>"


def test_a_worker_whose_lease_ran_out_during_smtp_does_not_record_sent(
    smtp_server, monkeypatch, patient_user, message_id
):
    """A slow exchange outlived the lease and the sweep put the row back: the late "250" is not
    recorded over it; the row is sent again (counted) with the same Message-ID."""
    nid = _one(patient_user, message_id)
    real_send = delivery.get_connection

    def swept_during_smtp(**kwargs):
        backend = real_send(**kwargs)
        original = backend.send_messages

        def send(messages):
            sent = original(messages)
            _expire(nid)
            delivery.sweep()
            return sent

        backend.send_messages = send
        return backend

    monkeypatch.setattr(delivery, "get_connection", swept_during_smtp)
    assert delivery.deliver(nid) is None
    row = Notification.objects.get(id=nid)
    assert (row.state, row.unknown_outcome_retries) == (State.PENDING, 1)
    monkeypatch.setattr(delivery, "get_connection", real_send)
    assert delivery.deliver(nid) == State.SENT
    ids = [m["Message-ID"].strip() for m in smtp_server.messages]
    assert ids == [row.message_id, row.message_id]
