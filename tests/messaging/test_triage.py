"""Triage hooks of the sending actions: routing rules, the automatic acknowledgement, the
out-of-office reply and delegate, and staff sending on behalf of a clinician."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from support.world import DOSE_QUESTION, patient_question

from carethread.audit.models import AuditEvent
from carethread.messaging import actions, queries
from carethread.messaging.access import access_thread, viewer_for
from carethread.messaging.models import (
    Message,
    OutOfOffice,
    Recipient,
    RoutingRule,
    Thread,
    ThreadMember,
)
from carethread.notifications.models import Notification


def patient_writes(world, user=None, **kw):
    return patient_question(world, user, **{**DOSE_QUESTION, **kw})


def automatic(thread):
    return list(Message.objects.filter(thread=thread, is_automatic=True).order_by("sent_at", "pk"))


def absent(world, practitioner, *, delegate=None, reply_text="", starts=-1, ends=5):
    now = timezone.now()
    return OutOfOffice.objects.create(
        practitioner=practitioner,
        starts_at=now + dt.timedelta(days=starts),
        ends_at=now + dt.timedelta(days=ends),
        reply_text=reply_text,
        delegate=delegate,
    )


# -- routing ----------------------------------------------------------------------------------


def test_routing_rule_sends_new_patient_thread_to_the_pool(world):
    RoutingRule.objects.create(organization=world.org, category="refill", pool=world.refills)
    message = patient_writes(world, category="refill", subject="Refill", body="Please renew")
    thread = message.thread
    assert thread.pool == world.refills
    # The pool's member sees it and has it in the inbox, unread.
    access_thread(world.staff.user, thread.uuid)
    assert ThreadMember.objects.get(thread=thread, user=world.staff.user).unread >= 1
    assert Recipient.objects.filter(message=message, kind="pool", pool=world.refills).exists()


def test_other_categories_are_not_routed(world):
    RoutingRule.objects.create(organization=world.org, category="refill", pool=world.refills)
    message = patient_writes(world, category="medical")
    assert message.thread.pool is None


def test_pool_the_patient_chose_wins_over_the_rule(world):
    RoutingRule.objects.create(organization=world.org, category="refill", pool=world.refills)
    message = patient_writes(
        world, category="refill", subject="Refill", body="Please", to_practitioners=[],
        to_pool=world.front,
    )  # fmt: skip
    assert message.thread.pool == world.front


def test_rule_to_an_inactive_pool_is_ignored(world):
    RoutingRule.objects.create(organization=world.org, category="refill", pool=world.refills)
    world.refills.active = False
    world.refills.save()
    message = patient_writes(world, category="refill")
    assert message.thread.pool is None


# -- automatic acknowledgement ----------------------------------------------------------------


def test_new_patient_thread_is_acknowledged(world):
    first = patient_writes(world)
    thread = first.thread
    [ack] = automatic(thread)
    assert ack.sender_kind == "system" and ack.author is None
    assert ack.in_response_to == first
    body = ack.unseal("body_ct")
    assert "received your message" in body
    assert "within 3 business days" in body  # expected_response_hours = 72
    assert "911" in body and "not for emergencies" in body
    recipients = {(r.kind, r.patient_id or r.representative_id) for r in ack.recipients.all()}
    # The patient and the valid representative; not the expired one.
    assert recipients == {("patient", world.patient.pk), ("representative", world.rep.pk)}


def test_acknowledgement_does_not_clear_the_awaiting_reply_state(world):
    first = patient_writes(world)
    thread = Thread.objects.get(pk=first.thread_id)
    assert thread.awaiting_reply_since == first.sent_at
    assert thread.reply_due_at == first.sent_at + dt.timedelta(hours=72)
    # Not a practice answer: the patient's next reply answers no practitioner message.
    again = actions.reply(world.patient.user, thread, body="Any news?")
    assert again.in_response_to is None
    thread.refresh_from_db()
    assert thread.awaiting_reply_since == first.sent_at


def test_acknowledgement_uses_the_pool_target_when_it_has_one(world):
    world.refills.response_target_hours = 4
    world.refills.save()
    message = patient_writes(world, to_practitioners=[], to_pool=world.refills, category="refill")
    [ack] = automatic(message.thread)
    assert "within 4 hours" in ack.unseal("body_ct")


def test_private_thread_acknowledgement_skips_representatives(world):
    message = patient_writes(world, private=True)
    [ack] = automatic(message.thread)
    assert [r.kind for r in ack.recipients.all()] == ["patient"]


def test_no_acknowledgement_when_switched_off(world):
    world.org.auto_acknowledge = False
    world.org.save()
    message = patient_writes(world)
    assert automatic(message.thread) == []


def test_replies_and_practice_threads_are_not_acknowledged(world):
    first = patient_writes(world)
    actions.reply(world.patient.user, first.thread, body="One more thing")
    assert len(automatic(first.thread)) == 1
    from_practice = actions.start_thread(
        world.c1.user, patient=world.patient, category="medical", subject="Results",
        body="Your results are normal.",
    )  # fmt: skip
    assert automatic(from_practice.thread) == []


def test_representative_started_thread_is_acknowledged(world):
    message = patient_writes(world, user=world.rep.user)
    assert len(automatic(message.thread)) == 1


def test_acknowledgement_is_audited_as_a_system_send(world):
    message = patient_writes(world)
    [ack] = automatic(message.thread)
    event = AuditEvent.objects.get(action="message.send", object_id=str(ack.uuid))
    assert event.actor_id is None and event.actor_role == "system"
    assert event.details["automatic"] is True
    assert "emergenc" not in str(event.details)


# -- out of office ----------------------------------------------------------------------------


def test_out_of_office_reply_and_delegate(world):
    absent(world, world.c1, delegate=world.c2, reply_text="I am away until Monday.")
    first = patient_writes(world)
    thread = Thread.objects.get(pk=first.thread_id)
    replies = [m for m in automatic(thread) if m.client_key.startswith("auto-ooo-")]
    assert len(replies) == 1
    reply = replies[0]
    assert reply.sender_kind == "system" and reply.in_response_to == first
    assert reply.unseal("body_ct").startswith("I am away until Monday.")
    # The delegate takes over: a place in the thread, the assignment, a notification.
    member = ThreadMember.objects.get(thread=thread, user=world.c2.user)
    assert member.side == "practice" and member.unread >= 1
    assert thread.assignee == world.c2
    access_thread(world.c2.user, thread.uuid)
    assert Notification.objects.filter(subject_id=first.uuid, recipient=world.c2.user).exists()
    event = AuditEvent.objects.get(action="thread.assign", object_id=str(thread.uuid))
    assert event.details == {
        "assignee": str(world.c2.uuid),
        "previous": None,
        "reason": "out_of_office",
    }
    # Still waiting for a real answer.
    assert thread.awaiting_reply_since == first.sent_at


def test_out_of_office_reply_only_once_per_thread_and_absence(world):
    absent(world, world.c1)
    first = patient_writes(world)
    thread = first.thread
    # Each reply is addressed to c1 again (the practitioner who took part).
    actions.reply(world.patient.user, thread, body="Hello again")
    actions.reply(world.patient.user, thread, body="And again")
    replies = [m for m in automatic(thread) if m.client_key.startswith("auto-ooo-")]
    assert len(replies) == 1
    text = replies[0].unseal("body_ct")
    assert "out of the office until" in text and "911" in text


def test_a_new_absence_answers_again(world):
    first_absence = absent(world, world.c1, ends=1)
    message = patient_writes(world)
    thread = message.thread
    OutOfOffice.objects.filter(pk=first_absence.pk).update(
        starts_at=timezone.now() - dt.timedelta(days=3), ends_at=timezone.now()
    )
    absent(world, world.c1)
    actions.reply(world.patient.user, thread, body="Hello again")
    replies = [m for m in automatic(thread) if m.client_key.startswith("auto-ooo-")]
    assert len(replies) == 2


def test_out_of_office_on_a_reply_to_the_assignee(world):
    started = actions.start_thread(
        world.c1.user, patient=world.patient, category="medical", subject="Results",
        body="Your results are normal.",
    )  # fmt: skip
    thread = started.thread
    assert thread.assignee == world.c1
    absent(world, world.c1, delegate=world.staff)
    actions.reply(world.patient.user, thread, body="Thanks, and one question")
    thread.refresh_from_db()
    assert len(automatic(thread)) == 1
    # The thread keeps its assignee; the delegate joins it.
    assert thread.assignee == world.c1
    assert ThreadMember.objects.filter(thread=thread, user=world.staff.user).exists()


def test_future_absence_does_not_answer(world):
    absent(world, world.c1, starts=2, ends=5)
    message = patient_writes(world)
    assert [m.client_key for m in automatic(message.thread)] == ["auto-ack"]


def test_delegate_outside_the_practice_is_not_handed_the_thread(world):
    absent(world, world.c1, delegate=world.outsider)
    message = patient_writes(world)
    thread = Thread.objects.get(pk=message.thread_id)
    assert len(automatic(thread)) == 2
    assert thread.assignee is None
    assert not ThreadMember.objects.filter(thread=thread, user=world.outsider.user).exists()


def test_pool_threads_get_no_out_of_office_reply(world):
    absent(world, world.staff)
    message = patient_writes(world, to_practitioners=[], to_pool=world.refills, category="refill")
    assert [m.client_key for m in automatic(message.thread)] == ["auto-ack"]


# -- overdue, on behalf ----------------------------------------------------------------------


def test_overdue_flag_when_reply_is_due_in_the_past(world):
    message = patient_writes(world)
    thread = message.thread
    [row] = queries.inbox(viewer_for(world.c1.user))
    assert row.overdue is False
    Thread.objects.filter(pk=thread.pk).update(reply_due_at=timezone.now() - dt.timedelta(hours=1))
    [row] = queries.inbox(viewer_for(world.c1.user))
    assert row.overdue is True
    assert [
        r.thread.pk
        for r in queries.inbox(viewer_for(world.c1.user), queries.InboxFilter(overdue=True))
    ] == [thread.pk]


def test_staff_sends_on_behalf_of_a_clinician(world):
    message = actions.start_thread(
        world.staff.user,
        patient=world.patient,
        category="appointment",
        subject="Your appointment",
        body="Please call us to book.",
        on_behalf_of=world.c1,
    )
    assert message.sender_practitioner == world.staff
    assert message.on_behalf_of == world.c1
    assert message.author == world.staff.user
    assert message.thread.assignee == world.c1
    event = AuditEvent.objects.get(action="message.send", object_id=str(message.uuid))
    assert event.details["on_behalf_of"] == str(world.c1.uuid)
    label = queries.sender_label(message)
    assert label.endswith("on behalf of " + world.c1.display_name)


def test_staff_cannot_send_on_behalf_of_staff(world):
    from carethread.messaging.errors import MessagingError

    with pytest.raises(MessagingError) as err:
        actions.start_thread(
            world.staff.user, patient=world.patient, category="other", subject="Hi",
            body="Hello", on_behalf_of=world.staff2,
        )  # fmt: skip
    assert err.value.code == "on_behalf_not_allowed"
