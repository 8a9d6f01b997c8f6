"""Starting threads and replying: who may write to whom, what is recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from support.world import DOSE_QUESTION, patient_question

from carethread.audit.models import AuditEvent
from carethread.messaging import actions
from carethread.messaging.access import access_thread, viewer_for, visible_threads
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Message, Recipient, Thread, ThreadMember
from carethread.notifications.models import Notification


def start_from_patient(world, **kw):
    return patient_question(world, **{**DOSE_QUESTION, **kw})


def test_patient_writes_to_their_clinician(world):
    message = start_from_patient(world)
    thread = message.thread
    assert thread.organization == world.org
    assert thread.started_by == "patient"
    assert thread.unseal("subject_ct") == "Question about my dose"
    assert message.unseal("body_ct") == "Should I take it in the morning?"
    assert message.sender_kind == "patient" and message.sender_patient == world.patient
    assert [(r.kind, r.practitioner_id) for r in message.recipients.all()] == [
        ("practitioner", world.c1.pk)
    ]
    assert thread.awaiting_reply_since == message.sent_at
    unread = dict(ThreadMember.objects.filter(thread=thread).values_list("user_id", "unread"))
    automatic = Message.objects.filter(thread=thread, is_automatic=True).count()
    assert unread[world.c1.user_id] == 1 and unread[world.patient.user_id] == automatic
    assert Notification.objects.filter(subject_id=message.uuid, recipient=world.c1.user).exists()
    assert AuditEvent.objects.filter(action="message.send", object_id=str(message.uuid)).exists()


def test_patient_cannot_write_to_a_clinician_who_never_saw_them(world):
    with pytest.raises(MessagingError) as err:
        start_from_patient(world, to_practitioners=[world.c2])
    assert err.value.code == "recipient_not_allowed"
    assert not Thread.objects.exists()


def test_visit_outside_lookback_is_not_a_relationship(world):
    world.org.relationship_lookback_days = 10
    world.org.save()
    with pytest.raises(MessagingError):
        start_from_patient(world)


def test_representative_writes_for_the_patient(world):
    message = actions.start_thread(
        world.rep.user,
        patient=world.patient,
        category="refill",
        subject="Refill",
        body="Please renew",
        to_pool=world.refills,
    )
    assert message.sender_kind == "representative"
    assert message.sender_representative == world.rep
    assert message.thread.pool == world.refills


def test_expired_representative_cannot_write(world):
    with pytest.raises(MessagingError):
        actions.start_thread(
            world.expired_rep.user,
            patient=world.patient,
            category="refill",
            subject="Refill",
            body="Please renew",
            to_pool=world.refills,
        )


def test_clinician_reply_goes_to_patient_and_valid_representative(world):
    first = start_from_patient(world)
    thread, viewer = access_thread(world.c1.user, first.thread.uuid)
    answer = actions.reply(world.c1.user, thread, body="Morning is fine.", viewer=viewer)
    kinds = sorted(Recipient.objects.filter(message=answer).values_list("kind", flat=True))
    assert kinds == ["patient", "representative"]
    assert answer.in_response_to == first
    thread.refresh_from_db()
    assert thread.awaiting_reply_since is None
    notified = set(
        Notification.objects.filter(subject_id=answer.uuid).values_list("recipient_id", flat=True)
    )
    assert notified == {world.patient.user_id, world.rep.user_id}


def test_private_thread_hidden_from_representative(world):
    message = start_from_patient(world, private=True)
    assert message.thread not in visible_threads(viewer_for(world.rep.user))
    assert message.thread in visible_threads(viewer_for(world.patient.user))


def test_reply_window_closes_thread_to_patient(world):
    message = start_from_patient(world)
    thread = message.thread
    Thread.objects.filter(pk=thread.pk).update(
        last_message_at=timezone.now() - dt.timedelta(days=15)
    )
    thread.refresh_from_db()
    with pytest.raises(MessagingError) as err:
        actions.reply(world.patient.user, thread, body="One more thing")
    assert err.value.code == "reply_window_closed"
    assert Message.objects.filter(thread=thread, is_automatic=False).count() == 1


def test_practice_writes_to_patient_and_unenrolled_is_refused(world):
    message = actions.start_thread(
        world.c2.user, patient=world.patient, category="other", subject="Hi", body="Results are in"
    )
    assert message.thread.started_by == "practice"
    with pytest.raises(MessagingError) as err:
        actions.start_thread(
            world.c2.user, patient=world.unenrolled, category="other", subject="Hi", body="x"
        )
    assert err.value.code == "not_enrolled"


def test_outsider_practice_cannot_write_to_our_patient(world):
    with pytest.raises(MessagingError):
        actions.start_thread(
            world.outsider.user, patient=world.patient, category="other", subject="Hi", body="x"
        )


def test_idempotent_send_returns_the_same_message(world):
    a = start_from_patient(world, client_key="k-1")
    b = start_from_patient(world, client_key="k-1")
    assert a.pk == b.pk
    assert Message.objects.filter(is_automatic=False).count() == 1


def test_retracted_message_is_kept(world):
    message = start_from_patient(world)
    actions.retract(world.patient.user, message)
    message.refresh_from_db()
    assert message.status == "entered-in-error"
    with pytest.raises(MessagingError):
        actions.retract(world.patient.user, message)


def test_mark_read_sets_receipts(world):
    first = start_from_patient(world)
    thread, _ = access_thread(world.c1.user, first.thread.uuid)
    assert actions.mark_read(world.c1.user, thread) == 1
    first.refresh_from_db()
    assert first.first_read_at is not None
    assert ThreadMember.objects.get(thread=thread, user=world.c1.user).unread == 0


def test_sending_is_rate_limited(world, settings):
    settings.CARETHREAD_SEND_RATE_PER_HOUR = 2
    start_from_patient(world)
    start_from_patient(world)
    with pytest.raises(MessagingError) as err:
        start_from_patient(world)
    assert err.value.code == "rate_limited" and err.value.status == 429
    assert Message.objects.filter(author=world.patient.user).count() == 2
