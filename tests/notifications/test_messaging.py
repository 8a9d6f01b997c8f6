"""From a secure message (``start_thread``) to the mail in a real SMTP server: PHI-free, and
re-checked right before sending by the messaging app's checks (read, retracted, no longer
allowed to see the thread, no longer the assignee), the recipient's state and preferences; the
sender's name only with the practice's and the recipient's opt-in."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from carethread.accounts import actions as accounts
from carethread.messaging import actions as messaging
from carethread.messaging import notify
from carethread.messaging.models import Thread
from carethread.notifications import actions, delivery
from carethread.notifications.models import Notification

from .conftest import everything_in

SUBJECT = "Biopsy results Zanzibar"
BODY = "Your biopsy shows nothing Xylophonic."
State = Notification.State
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def practice_writes(world, **kw):
    """Dr Rivera (c1) writes to the patient: notifies the patient and her representative."""
    args = {"patient": world.patient, "category": "medical", "subject": SUBJECT, "body": BODY}
    args.update(kw)
    return messaging.start_thread(world.c1.user, **args)


def notification_for(message, user) -> Notification:
    return Notification.objects.get(subject_id=message.uuid, recipient=user)


def deliver_to(message, user) -> str | None:
    return delivery.deliver(notification_for(message, user).id)


def phi_of(world, message) -> list[str]:
    return [
        "Lopez",
        "RFM-1001",
        "1980",
        SUBJECT,
        "Zanzibar",
        BODY,
        "Xylophonic",
        world.c1.display_name,  # the sender
        "Rivera",
        world.rep.display_name,
        str(message.uuid),
        str(message.thread.uuid),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_new_message_reaches_each_recipient_once_without_phi(world, smtp_server):
    message = practice_writes(world)
    recipients = {world.patient.user.email, world.rep.user.email}
    assert {
        n.recipient.email for n in Notification.objects.filter(subject_id=message.uuid)
    } == recipients
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert "sent 2" in out.getvalue()
    mails = [m for m in smtp_server.messages if set(m.envelope_rcpt) & recipients]
    assert sorted(a for m in mails for a in m.envelope_rcpt) == sorted(recipients)
    world_addresses = {u.email for u in type(world.c1.user).objects.all()}
    for mail in mails:
        [rcpt] = mail.envelope_rcpt
        text = everything_in(mail)
        assert mail["Subject"] == "You have a new secure message"
        assert "Riverside Family Medicine" in mail.get_content()
        for phi in phi_of(world, message):
            assert phi not in text, phi
        found = {a for a in ADDRESS.findall(text) if not a.startswith("notification-")}
        assert found <= {rcpt, "no-reply@carethread.localhost"}
        assert not (found & (world_addresses - {rcpt}))
    # Never twice: the worker has nothing left to do for this message.
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "nothing due"
    assert len([m for m in smtp_server.messages if set(m.envelope_rcpt) & recipients]) == 2


@pytest.mark.django_db
def test_read_message_is_not_notified(world, smtp_server):
    message = practice_writes(world)
    messaging.mark_read(world.patient.user, message.thread)  # sets the read receipt
    assert deliver_to(message, world.patient.user) == State.SKIPPED
    assert deliver_to(message, world.rep.user) == State.SKIPPED  # the receipt is per message
    assert notification_for(message, world.patient.user).last_error_code == "already_read"
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_read_position_past_the_message_skips_it(world, smtp_server):
    """A colleague's message gets no read receipt on the practice side; the reader's read
    position in the thread is what says it was read."""
    message = practice_writes(world, to_practitioners=[world.c2], include_patient=False)
    messaging.mark_read(world.c2.user, message.thread)
    message.refresh_from_db()
    assert message.first_read_at is None
    assert deliver_to(message, world.c2.user) == State.SKIPPED
    assert notification_for(message, world.c2.user).last_error_code == "already_read"
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_unread_colleague_message_is_sent(world, smtp_server):
    message = practice_writes(world, to_practitioners=[world.c2], include_patient=False)
    assert deliver_to(message, world.c2.user) == State.SENT
    assert smtp_server.messages[0].envelope_rcpt == [world.c2.user.email]


@pytest.mark.django_db
def test_retracted_message_is_not_notified(world, smtp_server):
    message = practice_writes(world)
    messaging.retract(world.c1.user, message)
    assert deliver_to(message, world.patient.user) == State.SKIPPED
    assert notification_for(message, world.patient.user).last_error_code == "retracted"
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_blocked_recipient_is_not_notified(world, smtp_server):
    message = practice_writes(world)
    accounts.block_portal_access(world.patient.user, actor=None, reason_code="misuse")
    assert deliver_to(message, world.patient.user) == State.SKIPPED
    assert notification_for(message, world.patient.user).last_error_code == "recipient_blocked"
    assert deliver_to(message, world.rep.user) == State.SENT
    assert [m.envelope_rcpt for m in smtp_server.messages] == [[world.rep.user.email]]


@pytest.mark.django_db
def test_recipient_who_can_no_longer_see_the_thread_is_not_notified(world, smtp_server):
    message = practice_writes(world)
    # The representative's authorisation ends before the worker gets to it.
    world.rep.valid_until = timezone.now() - dt.timedelta(minutes=1)
    world.rep.save()
    assert deliver_to(message, world.rep.user) == State.SKIPPED
    assert notification_for(message, world.rep.user).last_error_code == "no_access"
    # The patient kept the thread private from representatives afterwards: same answer.
    world.rep.valid_until = None
    world.rep.save()
    other = practice_writes(world, subject="Second")
    Thread.objects.filter(pk=other.thread_id).update(private_from_representatives=True)
    assert deliver_to(other, world.rep.user) == State.SKIPPED
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_opted_out_recipient_is_not_notified(world, smtp_server):
    actions.set_preferences(world.patient.user, email={actions.KIND_MESSAGE_NEW: False})
    message = practice_writes(world)
    assert deliver_to(message, world.patient.user) == State.SKIPPED
    assert notification_for(message, world.patient.user).last_error_code == "opted_out"
    assert deliver_to(message, world.rep.user) == State.SENT
    assert [m.envelope_rcpt for m in smtp_server.messages] == [[world.rep.user.email]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("practice", "recipient", "named"),
    [(False, False, False), (True, False, False), (False, True, False), (True, True, True)],
)
def test_sender_name_only_with_both_opt_ins(world, smtp_server, practice, recipient, named):
    world.org.notify_sender_name = practice
    world.org.save()
    actions.set_preferences(world.patient.user, sender_name=recipient)
    message = practice_writes(world)
    assert deliver_to(message, world.patient.user) == State.SENT
    mail = smtp_server.messages[0]
    assert mail["Subject"] == "You have a new secure message"  # never in the subject
    text = everything_in(mail)
    if named:
        assert f"A secure message from {world.c1.display_name} is waiting" in mail.get_content()
    else:
        assert world.c1.display_name not in text and "Rivera" not in text
    # Nothing about the sender is stored with the notification.
    row = notification_for(message, world.patient.user)
    stored = " ".join(str(getattr(row, f.attname)) for f in row._meta.concrete_fields)
    assert "Rivera" not in stored


@pytest.mark.django_db
def test_representative_sender_is_named_by_their_own_name_only(world):
    world.org.notify_sender_name = True
    world.org.save()
    message = messaging.start_thread(
        world.rep.user,
        patient=world.patient,
        category="refill",
        subject="Refill",
        body="Please renew",
        to_pool=world.refills,
    )
    row = notification_for(message, world.staff.user)
    assert notify.sender_name(row) == world.rep.display_name  # not "... on behalf of Pat Lopez"


@pytest.mark.django_db
def test_assignment_notification_is_rechecked(world, smtp_server):
    message = practice_writes(world)
    thread = message.thread
    Thread.objects.filter(pk=thread.pk).update(assignee=world.c2)
    [nid] = actions.enqueue(
        actions.KIND_THREAD_ASSIGNED, thread.uuid, [world.c2.user], subject_type="thread"
    )
    [stale] = actions.enqueue(
        actions.KIND_THREAD_ASSIGNED, thread.uuid, [world.c1.user], subject_type="thread"
    )
    assert delivery.deliver(stale) == State.SKIPPED  # c1 is no longer the assignee
    assert Notification.objects.get(id=stale).last_error_code == "not_assignee"
    assert delivery.deliver(nid) == State.SENT
    mail = smtp_server.messages[0]
    assert mail.envelope_rcpt == [world.c2.user.email]
    assert mail["Subject"] == "A conversation was assigned to you"
    for phi in phi_of(world, message):
        assert phi not in everything_in(mail)


@pytest.mark.django_db
def test_assignee_who_left_the_practice_is_not_notified(world, smtp_server):
    message = practice_writes(world)
    Thread.objects.filter(pk=message.thread_id).update(assignee=world.c2)
    [nid] = actions.enqueue(
        actions.KIND_THREAD_ASSIGNED, message.thread.uuid, [world.c2.user], subject_type="thread"
    )
    world.c2.memberships.update(active=False)
    assert delivery.deliver(nid) == State.SKIPPED
    assert Notification.objects.get(id=nid).last_error_code == "no_access"
    assert smtp_server.messages == []
