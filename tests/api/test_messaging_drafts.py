"""Drafts through the API: save, list, update with If-Match, delete, send."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from support.api import post_json, put_json

from carethread.audit.models import AuditEvent
from carethread.messaging import actions, attachments, posting
from carethread.messaging.models import Draft, Message, Thread, ThreadMember

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%%EOF\n"


def new_thread_draft(world, **changes):
    body = {
        "patient": str(world.patient.uuid),
        "category": "refill",
        "subject": "Refill",
        "body": "Please renew my",
        "recipients": {"pool": str(world.refills.uuid)},
    }
    body.update(changes)
    return body


def test_create_list_update_and_send_a_new_thread_draft(world, patient_client):
    created = post_json(patient_client, "/api/drafts", new_thread_draft(world))
    assert created.status_code == 201
    draft = created.json()
    assert draft["version"] == 1 and draft["thread"] is None
    assert draft["patient"] == {"uuid": str(world.patient.uuid), "name": "Pat Lopez"}
    assert draft["recipients"]["pool"] == str(world.refills.uuid)
    assert [d["uuid"] for d in patient_client.get("/api/drafts").json()] == [draft["uuid"]]

    updated = put_json(
        patient_client,
        f"/api/drafts/{draft['uuid']}",
        new_thread_draft(world, body="Please renew my inhaler."),
        HTTP_IF_MATCH="1",
    )
    assert updated.status_code == 200
    assert (updated.json()["version"], updated.json()["body"]) == (2, "Please renew my inhaler.")

    messages_before = Message.objects.count()
    sent = patient_client.post(f"/api/drafts/{draft['uuid']}/send")
    assert sent.status_code == 201
    body = sent.json()
    assert body["message"]["body"] == "Please renew my inhaler."
    assert body["thread"]["subject"] == "Refill" and body["thread"]["category"] == "refill"
    assert Message.objects.count() > messages_before
    assert not Draft.objects.exists()
    assert patient_client.get("/api/drafts").json() == []
    assert Thread.objects.get(uuid=body["thread"]["uuid"]).pool == world.refills


def test_reply_draft_is_sent_into_its_thread(world, patient_client):
    first = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject="Dose",
        body="Morning or evening?",
        to_practitioners=[world.c1],
    )
    upload = attachments.upload_attachment(world.patient.user, filename="log.txt", data=b"120/80\n")
    created = post_json(
        patient_client,
        "/api/drafts",
        {
            "thread": str(first.thread.uuid),
            "body": "Here is my log",
            "recipients": {"attachments": [str(upload.uuid)], "in_response_to": str(first.uuid)},
        },
    ).json()
    assert created["thread"] == str(first.thread.uuid) and created["patient"] is None
    sent = patient_client.post(f"/api/drafts/{created['uuid']}/send")
    assert sent.status_code == 201
    message = sent.json()["message"]
    assert sent.json()["thread"]["uuid"] == str(first.thread.uuid)
    assert message["in_response_to"] == str(first.uuid)
    assert [a["uuid"] for a in message["attachments"]] == [str(upload.uuid)]


def test_stale_draft_update_is_409_and_changes_nothing(world, patient_client):
    draft = post_json(patient_client, "/api/drafts", new_thread_draft(world)).json()
    path = f"/api/drafts/{draft['uuid']}"
    assert (
        put_json(
            patient_client, path, new_thread_draft(world, body="v2"), HTTP_IF_MATCH="1"
        ).status_code
        == 200
    )
    stale = put_json(patient_client, path, new_thread_draft(world, body="v3"), HTTP_IF_MATCH='"1"')
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    row = Draft.objects.get(uuid=draft["uuid"])
    assert (row.version, row.unseal("body_ct")) == (2, "v2")


def test_refused_send_keeps_the_draft(world, patient_client):
    draft = post_json(
        patient_client,
        "/api/drafts",
        new_thread_draft(world, recipients={"practitioners": [str(world.c2.uuid)]}),
    ).json()
    before = (Message.objects.count(), Thread.objects.count(), AuditEvent.objects.count())
    response = patient_client.post(f"/api/drafts/{draft['uuid']}/send")
    assert response.status_code == 400 and response.json()["code"] == "recipient_not_allowed"
    assert (Message.objects.count(), Thread.objects.count(), AuditEvent.objects.count()) == before
    row = Draft.objects.get(uuid=draft["uuid"])
    assert row.version == 1 and row.unseal("body_ct") == "Please renew my"


def test_empty_draft_can_be_saved_but_not_sent(world, patient_client):
    draft = post_json(patient_client, "/api/drafts", {"patient": str(world.patient.uuid)})
    assert draft.status_code == 201
    response = patient_client.post(f"/api/drafts/{draft.json()['uuid']}/send")
    assert response.status_code == 400
    assert Draft.objects.count() == 1


def test_delete_draft(world, patient_client):
    draft = post_json(patient_client, "/api/drafts", new_thread_draft(world)).json()
    assert patient_client.delete(f"/api/drafts/{draft['uuid']}").status_code == 204
    assert not Draft.objects.exists()
    assert patient_client.delete(f"/api/drafts/{draft['uuid']}").status_code == 404
    assert AuditEvent.objects.filter(action="draft.delete", object_id=draft["uuid"]).count() == 1


def test_drafts_do_not_count_as_messages(world, patient_client):
    first = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject="Dose",
        body="Morning or evening?",
        to_practitioners=[world.c1],
    )
    clinician_client = Client()
    clinician_client.force_login(world.c1.user)
    inbox_before = clinician_client.get("/api/threads").json()
    thread_before = Thread.objects.values("version", "last_message_at").get(pk=first.thread_id)
    unread_before = list(ThreadMember.objects.order_by("pk").values_list("unread", flat=True))
    messages_before = Message.objects.count()

    post_json(patient_client, "/api/drafts", {"thread": str(first.thread.uuid), "body": "Also..."})
    post_json(patient_client, "/api/drafts", new_thread_draft(world))

    assert clinician_client.get("/api/threads").json() == inbox_before
    assert Thread.objects.values("version", "last_message_at").get(pk=first.thread_id) == (
        thread_before
    )
    assert list(ThreadMember.objects.order_by("pk").values_list("unread", flat=True)) == (
        unread_before
    )
    assert Message.objects.count() == messages_before
    view = patient_client.get(f"/api/threads/{first.thread.uuid}").json()
    assert "Also..." not in str(view)


@pytest.mark.parametrize(
    "change",
    [
        {"recipients": {"practitioners": ["nope"]}},
        {"recipients": {"private": "perhaps"}},
        {"recipients": {"unknown": 1}},
        {"thread": "nope"},
        {"subject": 5},
    ],
)
def test_malformed_drafts_are_422(world, patient_client, change):
    response = post_json(patient_client, "/api/drafts", new_thread_draft(world, **change))
    assert response.status_code == 422
    assert not Draft.objects.exists()


def test_draft_about_a_patient_the_caller_cannot_write_about(world, patient_client):
    for target in (world.other_patient.uuid, uuid.uuid4()):
        response = post_json(
            patient_client, "/api/drafts", new_thread_draft(world, patient=str(target))
        )
        assert response.status_code == 400 and response.json()["code"] == "patient_not_allowed"
    response = post_json(patient_client, "/api/drafts", {"thread": str(uuid.uuid4()), "body": "x"})
    assert response.status_code == 404
    assert not Draft.objects.exists()


def test_too_long_draft_is_refused(world, patient_client):
    response = post_json(
        patient_client, "/api/drafts", new_thread_draft(world, body="x" * (posting.MAX_BODY + 1))
    )
    assert response.status_code == 400 and response.json()["code"] == "too_long"
    assert not Draft.objects.exists()
