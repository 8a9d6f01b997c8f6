"""The triage workflow: claim, assign, status and internal notes."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from support.world import patient_question

from carethread.audit.models import AuditEvent
from carethread.core.models import Practitioner
from carethread.messaging import actions, queries, workflow
from carethread.messaging.access import viewer_for
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Note, Thread, ThreadMember
from carethread.notifications.models import Notification


def pool_thread(world, pool=None):
    """A new patient thread in a pool (``front`` by default: members staff and c2)."""
    message = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="appointment",
        subject="Booking",
        body="Can I come on Tuesday?",
        to_pool=pool or world.front,
    )
    return Thread.objects.get(pk=message.thread_id)


def clinician_thread(world):
    message = patient_question(world, subject="Question", body="Is this normal?")
    return Thread.objects.get(pk=message.thread_id)


def refused(code, fn, *args, **kw):
    with pytest.raises(MessagingError) as err:
        fn(*args, **kw)
    assert err.value.code == code
    return err.value


# -- claim ------------------------------------------------------------------------------------


def test_pool_member_claims_an_unassigned_thread(world):
    thread = pool_thread(world)
    before = thread.version
    workflow.claim(world.staff.user, thread)
    thread.refresh_from_db()
    assert thread.assignee == world.staff
    assert thread.version == before + 1
    assert ThreadMember.objects.filter(thread=thread, user=world.staff.user).exists()
    event = AuditEvent.objects.get(action="thread.claim", object_id=str(thread.uuid))
    assert event.actor_id == world.staff.user.pk
    assert event.patient_id == world.patient.pk
    assert event.details == {"assignee": str(world.staff.uuid), "version": thread.version}


def test_second_claim_is_refused_by_the_conditional_update(world):
    """Two users loaded the same unassigned thread; the second claim finds it taken."""
    thread = pool_thread(world)
    seen_by_staff = Thread.objects.get(pk=thread.pk)
    seen_by_c2 = Thread.objects.get(pk=thread.pk)
    assert seen_by_staff.assignee_id is None and seen_by_c2.assignee_id is None
    workflow.claim(world.staff.user, seen_by_staff)
    err = refused("already_claimed", workflow.claim, world.c2.user, seen_by_c2)
    assert err.status == 409
    thread.refresh_from_db()
    assert thread.assignee == world.staff
    assert AuditEvent.objects.filter(action="thread.claim").count() == 1


def test_claiming_ones_own_thread_again_changes_nothing(world):
    thread = pool_thread(world)
    workflow.claim(world.staff.user, thread)
    version = thread.version
    workflow.claim(world.staff.user, thread)
    thread.refresh_from_db()
    assert thread.version == version
    assert AuditEvent.objects.filter(action="thread.claim").count() == 1


def test_claim_with_an_old_version_is_stale(world):
    thread = pool_thread(world)
    old = thread.version
    workflow.add_note(world.c2.user, thread, "Called the patient")
    err = refused("stale", workflow.claim, world.staff.user, thread, expected_version=old)
    assert err.status == 409
    thread.refresh_from_db()
    assert thread.assignee is None
    workflow.claim(world.staff.user, thread, expected_version=thread.version)
    thread.refresh_from_db()
    assert thread.assignee == world.staff


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_claims_exactly_one_wins():
    """Two connections claim at the same moment: one UPDATE changes the row, the other waits
    for its lock, re-reads the row, matches nothing and is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: two connections writing at once")
    from support.world import build_world

    world = build_world()
    thread = pool_thread(world)
    before = thread.version
    users = [world.staff.user, world.c2.user]
    barrier = threading.Barrier(len(users) + 1)
    results: dict[str, str] = {}

    def attempt(user):
        try:
            mine = Thread.objects.get(pk=thread.pk)
            barrier.wait(timeout=10)
            workflow.claim(user, mine)
            results[user.email] = "won"
        except MessagingError as exc:
            results[user.email] = exc.code
        finally:
            connections.close_all()

    workers = [threading.Thread(target=attempt, args=(u,)) for u in users]
    # Hold the row so that both claims queue on it and run truly at the same time.
    with transaction.atomic():
        Thread.objects.select_for_update().get(pk=thread.pk)
        for worker in workers:
            worker.start()
        barrier.wait(timeout=10)
        time.sleep(0.5)
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(results.values()) == ["already_claimed", "won"]
    winner = next(u for u in users if results[u.email] == "won")
    thread.refresh_from_db()
    assert thread.assignee.user == winner
    assert thread.version == before + 1
    assert AuditEvent.objects.filter(action="thread.claim").count() == 1


def test_claim_needs_a_practice_user_who_sees_the_thread(world):
    thread = pool_thread(world)
    for user in (world.patient.user, world.rep.user, world.outsider.user, world.staff2.user):
        refused("not_allowed", workflow.claim, user, thread)
    thread.refresh_from_db()
    assert thread.assignee is None
    assert not AuditEvent.objects.filter(action="thread.claim").exists()


# -- assign -----------------------------------------------------------------------------------


def test_assign_gives_the_assignee_a_place_and_a_notification(world):
    thread = clinician_thread(world)
    before = thread.version
    workflow.assign(world.c1.user, thread, world.c2)
    thread.refresh_from_db()
    assert thread.assignee == world.c2
    assert thread.version == before + 1
    member = ThreadMember.objects.get(thread=thread, user=world.c2.user)
    assert (
        member.side == "practice" and member.unread == 1
    )  # the message; its acknowledgement is not practice work
    note = Notification.objects.get(kind="thread.assigned", recipient=world.c2.user)
    assert note.subject_type == "thread" and note.subject_id == thread.uuid
    assert note.practice_name == world.org.name
    event = AuditEvent.objects.get(action="thread.assign", object_id=str(thread.uuid))
    assert event.details == {
        "assignee": str(world.c2.uuid),
        "previous": None,
        "version": thread.version,
    }
    # c2 can now open it and finds it in their inbox.
    assert [r.thread.pk for r in queries.inbox(viewer_for(world.c2.user))] == [thread.pk]


def test_reassign_and_unassign(world):
    thread = clinician_thread(world)
    workflow.assign(world.c1.user, thread, world.c2)
    workflow.assign(world.c2.user, thread, world.staff)
    thread.refresh_from_db()
    assert thread.assignee == world.staff
    workflow.assign(world.c1.user, thread, None)
    thread.refresh_from_db()
    assert thread.assignee is None
    details = [e.details for e in AuditEvent.objects.filter(action="thread.assign").order_by("seq")]
    assert [(d["previous"], d["assignee"]) for d in details] == [
        (None, str(world.c2.uuid)),
        (str(world.c2.uuid), str(world.staff.uuid)),
        (str(world.staff.uuid), None),
    ]


def test_self_assignment_notifies_nobody(world):
    thread = clinician_thread(world)
    workflow.assign(world.c1.user, thread, world.c1)
    assert not Notification.objects.filter(kind="thread.assigned").exists()


@pytest.mark.parametrize("who", ["outsider", "inactive", "no_login"])
def test_assignee_must_be_an_active_practice_user_of_the_practice(world, who):
    thread = clinician_thread(world)
    if who == "outsider":
        target = world.outsider
    elif who == "inactive":
        target = world.c2
        Practitioner.objects.filter(pk=target.pk).update(active=False)
        target.refresh_from_db()
    else:
        target = Practitioner.objects.create(family_name="Nologin")
        target.memberships.create(organization=world.org, role="staff")
    version = thread.version
    refused("bad_assignee", workflow.assign, world.c1.user, thread, target)
    thread.refresh_from_db()
    assert thread.assignee is None and thread.version == version


def test_assign_with_an_old_version_is_stale(world):
    thread = clinician_thread(world)
    old = thread.version
    workflow.set_status(world.c1.user, thread, "done")
    refused("stale", workflow.assign, world.c1.user, thread, world.c2, expected_version=old)
    thread.refresh_from_db()
    assert thread.assignee is None


def test_patient_side_cannot_assign(world):
    thread = clinician_thread(world)
    for user in (world.patient.user, world.rep.user):
        refused("not_allowed", workflow.assign, user, thread, world.c2)


# -- status -----------------------------------------------------------------------------------


def test_done_close_and_reopen(world):
    thread = clinician_thread(world)
    assert thread.awaiting_reply_since is not None
    workflow.set_status(world.c1.user, thread, "done")
    thread.refresh_from_db()
    assert thread.status == "done" and thread.closed_at is None
    # Handled: no longer waiting, no longer overdue.
    assert thread.awaiting_reply_since is None and thread.reply_due_at is None
    workflow.set_status(world.c1.user, thread, "closed")
    thread.refresh_from_db()
    assert thread.status == "closed" and thread.closed_at is not None
    refused("thread_closed", actions.reply, world.patient.user, thread, body="Hello?")
    workflow.set_status(world.c1.user, thread, "open")
    thread.refresh_from_db()
    assert thread.status == "open" and thread.closed_at is None
    moves = [
        (e.details["from"], e.details["to"])
        for e in AuditEvent.objects.filter(action="thread.status").order_by("seq")
    ]
    assert moves == [("open", "done"), ("done", "closed"), ("closed", "open")]


def test_patient_message_reopens_a_done_thread_and_waits_again(world):
    thread = clinician_thread(world)
    workflow.set_status(world.c1.user, thread, "done")
    reply = actions.reply(world.patient.user, thread, body="It came back")
    thread.refresh_from_db()
    assert thread.status == "open"
    assert thread.awaiting_reply_since == reply.sent_at


def test_unknown_status_and_patient_side_are_refused(world):
    thread = clinician_thread(world)
    refused("bad_status", workflow.set_status, world.c1.user, thread, "archived")
    refused("not_allowed", workflow.set_status, world.patient.user, thread, "closed")
    thread.refresh_from_db()
    assert thread.status == "open"


def test_overdue_goes_away_when_done(world):
    thread = clinician_thread(world)
    Thread.objects.filter(pk=thread.pk).update(reply_due_at=timezone.now() - dt.timedelta(hours=2))
    [row] = queries.inbox(viewer_for(world.c1.user))
    assert row.overdue is True
    workflow.set_status(world.c1.user, thread, "done")
    [row] = queries.inbox(viewer_for(world.c1.user))
    assert row.overdue is False


# -- notes ------------------------------------------------------------------------------------


def test_internal_note_is_encrypted_and_staff_only(world):
    thread = clinician_thread(world)
    before = thread.version
    note = workflow.add_note(world.c1.user, thread, "Patient called, left a voicemail")
    assert note.author == world.c1
    stored = Note.objects.get(pk=note.pk)
    assert b"voicemail" not in bytes(stored.body_ct)
    assert stored.unseal("body_ct") == "Patient called, left a voicemail"
    thread.refresh_from_db()
    assert thread.version == before + 1
    event = AuditEvent.objects.get(action="thread.note")
    assert event.details == {"note": str(note.uuid), "version": thread.version}
    assert "voicemail" not in str(event.details)
    practice_view = queries.thread_view(thread, viewer_for(world.c1.user))
    patient_view = queries.thread_view(thread, viewer_for(world.patient.user))
    assert [text for _n, text in practice_view.notes] == ["Patient called, left a voicemail"]
    assert patient_view.notes == []


def test_note_refused_for_the_patient_side_and_empty_text(world):
    thread = clinician_thread(world)
    refused("not_allowed", workflow.add_note, world.patient.user, thread, "hi")
    refused("not_allowed", workflow.add_note, world.rep.user, thread, "hi")
    refused("empty_body", workflow.add_note, world.c1.user, thread, "   ")
    refused("too_long", workflow.add_note, world.c1.user, thread, "x" * 10_001)
    assert not Note.objects.exists()
