"""Pinned query counts of the hot paths: the inbox, the thread view and sending a reply.

The counts must not grow with the page: 3 or 30 threads, 2 or 20 messages cost the same.
Callers use a personal token (the session's own cost is pinned in the session guard tests).
"""

from __future__ import annotations

import pytest
from django.test import Client
from support.world import build_world, patient_question

from carethread.api import actions as api_actions
from carethread.crypto import keyring
from carethread.messaging import actions, attachments
from carethread.messaging.access import access_thread
from carethread.messaging.models import Note, Thread

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# The token with the caller's patient and practitioner rows (one join), then the viewer's
# memberships; a practice user's representations and pools are read only when needed.
# The access rule is one filter with its pools and representations as subqueries: the page of
# rows (rights re-checked in the same query) and the unread total ...
INBOX_MINE = 2 + 2
INBOX_ALL = 2 + 3  # ... the page of threads, the unread counts of the page, the unread total
# + the thread (the caller is its assignee: no participation check), messages (senders
# joined), their attachments, notes, and the audit entry (chain head, insert, head update)
THREAD_VIEW = 2 + 10
THREAD_VIEW_PATIENT = 1 + 8  # the token only (no memberships), no notes
# Reply by the clinician: the gate, the rate check, the representatives, the latest patient
# message, the message with its recipients, the guarded thread update, inbox rows (insert,
# one update), the delivery task and the notifications, and the audit entry.
REPLY = 19


@pytest.fixture
def world(db):
    keyring.clear_cache()  # the current data key is then read once per encrypting request
    return build_world()


def token_client(user):
    _row, raw = api_actions.create_token(user, "script")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get("/api/me")  # records last_used_at (written at most once a minute)
    return client


def start(world, subject="Dose question"):
    return patient_question(world, subject=subject)


@pytest.mark.parametrize("threads", [3, 30])
@pytest.mark.parametrize(("box", "expected"), [("mine", INBOX_MINE), ("all", INBOX_ALL)])
def test_inbox_costs_the_same_for_3_and_30_threads(
    world, threads, box, expected, django_assert_num_queries
):
    for number in range(threads):
        message = start(world, subject=f"Question {number}")
        Thread.objects.filter(pk=message.thread_id).update(
            pool=world.refills if number % 2 else None, assignee=world.c1 if number % 3 else None
        )
    client = token_client(world.c1.user)
    with django_assert_num_queries(expected):
        response = client.get("/api/threads", {"box": box, "limit": 50})
    assert response.status_code == 200
    assert len(response.json()["threads"]) == threads


def conversation(world, messages):
    """A thread with ``messages`` messages from the patient, the representative and the
    clinician, with attachments, receipts and internal notes."""
    first = start(world)
    thread, _ = access_thread(world.c1.user, first.thread.uuid)
    Thread.objects.filter(pk=thread.pk).update(pool=world.refills, assignee=world.c1)
    writers = [world.c1.user, world.rep.user, world.c1.user, world.patient.user]
    count = Thread.objects.get(pk=thread.pk).messages.count()
    number = 0
    while count < messages:
        user = writers[number % len(writers)]
        thread, viewer = access_thread(user, thread.uuid)
        upload = attachments.upload_attachment(user, filename=f"r{number}.png", data=PNG)
        actions.reply(user, thread, body=f"Message {number}", attachments=[upload.uuid])
        actions.mark_read(user, thread, viewer=viewer)
        count += 1
        number += 1
    for text in ("Called the pharmacy", "Waiting on labs"):
        note = Note(thread=thread, author=world.c1)
        note.seal("body_ct", text)
        note.save()
    return thread


@pytest.mark.parametrize("messages", [2, 20])
def test_thread_view_costs_the_same_for_2_and_20_messages(
    world, messages, django_assert_num_queries
):
    thread = conversation(world, messages)
    client = token_client(world.c1.user)
    with django_assert_num_queries(THREAD_VIEW):
        response = client.get(f"/api/threads/{thread.uuid}")
    assert response.status_code == 200
    body = response.json()
    assert len(body["messages"]) == messages
    assert len(body["notes"]) == 2

    patient = token_client(world.patient.user)
    with django_assert_num_queries(THREAD_VIEW_PATIENT):
        response = patient.get(f"/api/threads/{thread.uuid}")
    assert response.status_code == 200 and response.json()["notes"] is None


@pytest.mark.parametrize("messages", [2, 20])
def test_reply_costs_the_same_whatever_the_thread_holds(world, messages, django_assert_num_queries):
    thread = conversation(world, messages)
    client = token_client(world.c1.user)
    with django_assert_num_queries(REPLY):
        response = client.post(
            f"/api/threads/{thread.uuid}/messages",
            {"body": "Take it in the morning."},
            content_type="application/json",
        )
    assert response.status_code == 201
