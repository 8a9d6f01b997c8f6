"""Delivery through a real SMTP server: once, PHI-free, re-checked, retried, lease-safe; and
the delivery tasks on the database queue that drive it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from carethread.accounts.models import User
from carethread.notifications import actions, checks, delivery, tasks
from carethread.notifications.models import Notification

from .conftest import DISTINCTIVE, everything_in, free_port

pytestmark = pytest.mark.django_db
KIND = actions.KIND_MESSAGE_NEW
State = Notification.State
DELIVERY_TASK = tasks.deliver_notification.module_path
SUBJECT_TASK = tasks.deliver_subject.module_path


@pytest.fixture(autouse=True)
def _mechanics_only(no_app_checks):
    """These tests use made-up subjects: the messaging checks would skip them."""


def _one(user, subject_id, **kw):
    [nid] = actions.enqueue(KIND, subject_id, [user], **kw)
    return nid


def _tasks_for(nid):
    """Tasks that deliver this notification: its own, or its subject's."""
    row = Notification.objects.get(id=nid)
    subject = [row.kind, str(row.subject_id)]
    return [
        r
        for r in DBTaskResult.objects.filter(task_path__in=[DELIVERY_TASK, SUBJECT_TASK])
        if r.args_kwargs["args"] in ([nid], subject)
    ]


def _make_due(nid):
    Notification.objects.filter(id=nid).update(next_attempt_at=timezone.now())


# -- queueing ------------------------------------------------------------------------------------


def test_enqueue_queues_one_delivery_task_per_new_subject(patient_user, message_id):
    nid = _one(patient_user, message_id)
    [task] = _tasks_for(nid)
    row = Notification.objects.get(id=nid)
    assert row.task_id == task.id
    assert task.status == "READY" and task.queue_name == tasks.QUEUE
    # A kind and a uuid only, nothing else.
    assert task.args_kwargs == {"args": [KIND, str(message_id)], "kwargs": {}}
    # Enqueueing the same notification again adds no row and leaves the row's task alone.
    assert actions.enqueue(KIND, message_id, [patient_user]) == [nid]
    assert Notification.objects.get(id=nid).task_id == task.id


def test_rolled_back_caller_leaves_neither_row_nor_task(patient_user, message_id):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        actions.enqueue(KIND, message_id, [patient_user])
        assert DBTaskResult.objects.count() == 1  # written on the caller's connection...
        raise Boom
    assert not Notification.objects.exists()
    assert not DBTaskResult.objects.exists()  # ...and rolled back with it


def test_the_task_runs_the_delivery(smtp_server, patient_user, message_id):
    nid = _one(patient_user, message_id)
    assert tasks.deliver_notification.call(nid) == State.SENT
    assert tasks.deliver_notification.call(nid) == "taken"
    assert len(smtp_server.messages) == 1


# -- one delivery --------------------------------------------------------------------------------


def test_delivered_once_with_stable_headers_and_no_phi(smtp_server, patient_user, message_id):
    nid = _one(patient_user, message_id, practice_name="Riverside Family Medicine")
    assert delivery.deliver(nid) == State.SENT
    assert delivery.deliver(nid) is None  # already sent: not claimable again
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    row = Notification.objects.get(id=nid)
    assert row.state == State.SENT and row.sent_at is not None and row.attempts == 1
    assert row.handed_at is not None
    assert mail["Subject"] == "You have a new secure message"
    assert mail["Message-ID"].strip() == f"<notification-{row.uuid}@carethread.localhost>"
    assert mail.envelope_rcpt == ["zeb@example.org"]
    body = mail.get_content()
    assert "Riverside Family Medicine" in body
    assert "http://127.0.0.1:8000/accounts/login/" in body
    assert "http://127.0.0.1:8000/account/notifications" in body  # where to opt out
    text = everything_in(mail)
    for phi in (DISTINCTIVE, "Zebulon", "MRN-Q-77", "1971", str(message_id)):
        assert phi not in text


def test_generic_place_without_practice_name(smtp_server, patient_user, message_id):
    delivery.deliver(_one(patient_user, message_id))
    assert "your care team's secure portal" in smtp_server.messages[0].get_content()


def test_assignment_email_has_its_own_generic_text(smtp_server, patient_user, message_id):
    [nid] = actions.enqueue(
        actions.KIND_THREAD_ASSIGNED, message_id, [patient_user], subject_type="thread"
    )
    assert delivery.deliver(nid) == State.SENT
    mail = smtp_server.messages[0]
    assert mail["Subject"] == "A conversation was assigned to you"
    assert "was assigned to you" in mail.get_content()


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
    assert row.handed_at is None
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
    checks.register_check(KIND, already_read)  # registering twice runs it once
    try:
        assert checks._CHECKS[KIND].count(already_read) == 1
        assert delivery.deliver(_one(patient_user, message_id)) == State.SKIPPED
        other = delivery.deliver(_one(patient_user, type(message_id)(int=7)))
    finally:
        checks.unregister_check(KIND, already_read)
    assert other == State.SENT
    assert len(smtp_server.messages) == 1


# -- failures and retries ------------------------------------------------------------------------


def test_server_down_is_retried_with_backoff_then_delivered(
    smtp_server, settings, patient_user, message_id
):
    up_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there
    nid = _one(patient_user, message_id)
    before = timezone.now()
    assert delivery.deliver(nid) == State.PENDING
    row = Notification.objects.get(id=nid)
    assert (row.attempts, row.last_error_code, row.handed_at) == (1, "connection_refused", None)
    assert before + dt.timedelta(seconds=29) < row.next_attempt_at
    assert row.next_attempt_at < timezone.now() + dt.timedelta(seconds=31)
    # The retry is a new delivery task due at the back-off time.
    retry = DBTaskResult.objects.get(id=row.task_id)
    assert retry.status == "READY" and retry.run_after == row.next_attempt_at
    assert retry.args_kwargs["args"] == [nid]
    assert delivery.deliver(nid) is None  # not due yet
    # Second failure doubles the delay.
    _make_due(nid)
    before = timezone.now()
    assert delivery.deliver(nid) == State.PENDING
    row = Notification.objects.get(id=nid)
    assert row.next_attempt_at > before + dt.timedelta(seconds=59)
    # The server is back and the retry is due.
    settings.EMAIL_PORT = up_port
    _make_due(nid)
    assert delivery.deliver(nid) == State.SENT
    assert Notification.objects.get(id=nid).attempts == 3
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_4xx_reply_is_retried_with_backoff(stalling_smtp, patient_user, message_id, stage):
    refusals = {"left": 2}

    async def refuse_rcpt(server, session, envelope, address, rcpt_options):
        if refusals["left"]:
            refusals["left"] -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    original_data = stalling_smtp.handle_DATA

    async def refuse_data(server, session, envelope):
        if refusals["left"]:
            refusals["left"] -= 1
            return "452 4.3.1 insufficient storage"
        return await original_data(server, session, envelope)

    if stage == "RCPT":
        stalling_smtp.handle_RCPT = refuse_rcpt
    else:
        stalling_smtp.handle_DATA = refuse_data
    nid = _one(patient_user, message_id)
    code = "smtp_451" if stage == "RCPT" else "smtp_452"
    delays = []
    for _ in range(2):
        before = timezone.now()
        assert delivery.deliver(nid) == State.PENDING
        row = Notification.objects.get(id=nid)
        assert row.last_error_code == code and row.handed_at is None
        delays.append(row.next_attempt_at - before)
        _make_due(nid)
    assert delays[0] >= dt.timedelta(seconds=30) and delays[1] >= dt.timedelta(seconds=60)
    assert delivery.deliver(nid) == State.SENT
    assert stalling_smtp.count_for("zeb@example.org") == 1


def test_gives_up_after_max_attempts(smtp_server, settings, patient_user, message_id):
    settings.EMAIL_PORT = free_port()
    settings.CARETHREAD_NOTIFICATION_MAX_ATTEMPTS = 2
    settings.CARETHREAD_NOTIFICATION_BACKOFF_BASE = dt.timedelta(0)
    nid = _one(patient_user, message_id)
    assert delivery.deliver(nid) == State.PENDING
    assert delivery.deliver(nid) == State.FAILED
    assert delivery.deliver(nid) is None
    row = Notification.objects.get(id=nid)
    assert (row.state, row.attempts, row.last_error_code) == (State.FAILED, 2, "connection_refused")


def test_permanent_smtp_refusal_fails_at_once(smtp_server, monkeypatch, patient_user, message_id):
    async def refuse(server, session, envelope):
        return "550 mailbox unavailable"

    monkeypatch.setattr(smtp_server, "handle_DATA", refuse)
    nid = _one(patient_user, message_id)
    assert delivery.deliver(nid) == State.FAILED
    row = Notification.objects.get(id=nid)
    assert (row.state, row.attempts, row.last_error_code) == (State.FAILED, 1, "smtp_550")


def test_no_reply_after_the_message_went_out_is_retried_once_answered(
    stalling_smtp, settings, patient_user, message_id
):
    """The server took the message but its reply never came in time: the outcome is unknown,
    so the notification is sent again (same Message-ID, see test_unknown_outcome.py), and
    once the server has answered it is never sent again."""
    settings.EMAIL_TIMEOUT = 1
    stalling_smtp.mode, stalling_smtp.data_delay = "stall_data", 3
    nid = _one(patient_user, message_id)
    assert delivery.deliver(nid) == State.PENDING
    row = Notification.objects.get(id=nid)
    assert (row.state, row.last_error_code) == (State.PENDING, "outcome_unknown")
    assert row.handed_at is None and row.unknown_outcome_retries == 1
    stalling_smtp.mode = "normal"
    _make_due(nid)
    assert delivery.deliver(nid) == State.SENT
    _make_due(nid)
    assert delivery.deliver(nid) is None
    assert delivery.sweep() == {}
    assert stalling_smtp.count_for("zeb@example.org") == 2


def test_no_greeting_is_before_the_hand_over_and_retried(
    stalling_smtp, settings, patient_user, message_id
):
    settings.EMAIL_TIMEOUT = 1
    stalling_smtp.mode = "stall_ehlo"
    nid = _one(patient_user, message_id)
    assert delivery.deliver(nid) == State.PENDING
    row = Notification.objects.get(id=nid)
    # smtplib reports the time-out as a dropped connection
    assert (row.last_error_code, row.handed_at) == ("smtp_disconnected", None)
    stalling_smtp.release()
    _make_due(nid)
    assert delivery.deliver(nid) == State.SENT
    assert stalling_smtp.count_for("zeb@example.org") == 1


# -- claims, leases and the sweep ------------------------------------------------------------------


def test_only_one_claim_wins(patient_user, message_id):
    nid = _one(patient_user, message_id)
    assert delivery.claim(nid) is not None
    assert delivery.claim(nid) is None


def _expire(nid, **fields):
    Notification.objects.filter(id=nid).update(
        lease_until=timezone.now() - dt.timedelta(seconds=1), **fields
    )


def test_crash_before_handing_over_is_requeued_and_sent_once(smtp_server, patient_user, message_id):
    """A worker died after claiming but before SMTP: the row goes back to pending with a new
    task, and is sent once."""
    nid = _one(patient_user, message_id)
    first_task = Notification.objects.get(id=nid).task_id
    stale = delivery.claim(nid)
    _expire(nid)
    assert delivery.sweep() == {"requeued": 1}
    row = Notification.objects.get(id=nid)
    assert (row.state, row.last_error_code) == (State.PENDING, "lease_expired")
    assert row.task_id != first_task
    assert DBTaskResult.objects.get(id=row.task_id).status == "READY"
    assert tasks.deliver_notification.call(nid) == State.SENT
    # The dead worker's claim can no longer change the row.
    assert not delivery._finish(nid, stale, state=State.FAILED)
    assert Notification.objects.get(id=nid).state == State.SENT
    assert len(smtp_server.messages) == 1


def test_crash_during_smtp_is_sent_again(smtp_server, patient_user, message_id):
    """A worker died after handing the mail to SMTP: outcome unknown, so it is sent again
    (counted); the dead worker's claim can no longer change the row."""
    nid = _one(patient_user, message_id)
    stale = delivery.claim(nid)
    _expire(nid, handed_at=timezone.now())
    assert delivery.sweep() == {"outcome_unknown": 1}
    row = Notification.objects.get(id=nid)
    assert (row.state, row.last_error_code) == (State.PENDING, "outcome_unknown")
    assert row.unknown_outcome_retries == 1
    assert delivery.deliver(nid) == State.SENT
    assert not delivery._finish(nid, stale, state=State.FAILED)
    assert len(smtp_server.messages) == 1


def test_expired_claim_out_of_attempts_fails(settings, patient_user, message_id):
    settings.CARETHREAD_NOTIFICATION_MAX_ATTEMPTS = 1
    nid = _one(patient_user, message_id)
    delivery.claim(nid)
    _expire(nid)
    assert delivery.sweep() == {}
    row = Notification.objects.get(id=nid)
    assert (row.state, row.last_error_code) == (State.FAILED, "lease_expired")


def test_a_late_worker_does_not_hand_over(smtp_server, patient_user, message_id, monkeypatch):
    """A worker whose lease ran out before it reached the hand-over sends nothing."""
    nid = _one(patient_user, message_id)
    real_render = delivery.email.render

    def slow_render(notification, **kw):
        _expire(nid)  # the lease runs out while this worker is busy
        delivery.sweep()  # and another worker's sweep takes the row back
        return real_render(notification, **kw)

    monkeypatch.setattr(delivery.email, "render", slow_render)
    assert delivery.deliver(nid) is None
    assert smtp_server.messages == []
    assert Notification.objects.get(id=nid).state == State.PENDING


def test_live_lease_is_not_swept(patient_user, message_id):
    nid = _one(patient_user, message_id)
    delivery.claim(nid)
    assert delivery.sweep() == {}
    assert Notification.objects.get(id=nid).state == State.SENDING


def test_pending_row_without_a_waiting_task_is_requeued(settings, patient_user, message_id):
    """A task that failed (or whose worker died) before claiming its row: once the row has been
    due for longer than a lease, the sweep queues a new task for it."""
    nid = _one(patient_user, message_id)
    task = DBTaskResult.objects.get(id=Notification.objects.get(id=nid).task_id)
    task.set_failed(RuntimeError("database went away"))
    assert delivery.sweep() == {}  # due only just now: not yet
    Notification.objects.filter(id=nid).update(
        next_attempt_at=timezone.now() - dt.timedelta(minutes=2)
    )
    assert delivery.sweep() == {"requeued": 1}
    new_task = Notification.objects.get(id=nid).task_id
    assert new_task != task.id and DBTaskResult.objects.get(id=new_task).status == "READY"
    assert delivery.sweep() == {}  # its task is waiting now: nothing more to do


def test_backlog_with_waiting_tasks_is_not_requeued(patient_user, message_id):
    nid = _one(patient_user, message_id)
    Notification.objects.filter(id=nid).update(
        next_attempt_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert delivery.sweep() == {}
    assert len(_tasks_for(nid)) == 1


def test_abandoned_delivery_task_results_are_marked_failed(patient_user, message_id):
    nid = _one(patient_user, message_id)
    task = DBTaskResult.objects.get(id=Notification.objects.get(id=nid).task_id)
    task.claim("dead-worker")
    DBTaskResult.objects.filter(id=task.id).update(
        started_at=timezone.now() - dt.timedelta(minutes=3)
    )
    counts = delivery.sweep()
    assert counts["abandoned_tasks"] == 1
    task.refresh_from_db()
    assert task.status == "FAILED" and task.exception_class_path.endswith("WorkerLost")
