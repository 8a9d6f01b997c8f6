"""Bad input to the messaging routes: a clear 4xx JSON answer, never a 500, nothing written."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from support.api import post_json, thread_body

from carethread.audit.models import AuditEvent
from carethread.core.actions import create_pool
from carethread.messaging import actions, attachments
from carethread.messaging.models import Attachment, Message, Recipient, Thread, ThreadMember
from carethread.notifications.models import Notification

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def snapshot():
    """Row counts of everything a send, an upload or a read writes."""
    return {
        "threads": Thread.objects.count(),
        "messages": Message.objects.count(),
        "recipients": Recipient.objects.count(),
        "members": ThreadMember.objects.count(),
        "unread": ThreadMember.objects.aggregate(n=Sum("unread"))["n"],
        "attachments": Attachment.objects.count(),
        "linked": Attachment.objects.filter(message__isnull=False).count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
        "versions": list(Thread.objects.order_by("pk").values_list("version", flat=True)),
    }


def start_body(world, **changes):
    return thread_body(world, **{"subject": "Another question", **changes})


def assert_refused(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert "detail" in body and b"Traceback" not in response.content
    if code is not None:
        assert body["code"] == code
    return body


# -- attachments ---------------------------------------------------------------------------------


def upload(client, name, data, content_type="application/pdf"):
    return client.post(
        "/api/attachments", {"file": SimpleUploadedFile(name, data, content_type=content_type)}
    )


def test_oversized_upload_is_413_and_stores_nothing(world, patient_client, settings):
    settings.CARETHREAD_ATTACHMENT_MAX_BYTES = 1000
    before = snapshot()
    assert_refused(
        upload(patient_client, "big.pdf", PDF + b"0" * 1000), 413, "attachment_too_large"
    )
    assert snapshot() == before
    assert upload(patient_client, "small.pdf", PDF).status_code == 201


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("report.pdf", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40),  # a ZIP
        ("report.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 40),  # a Windows executable
        ("report.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 40),  # a Linux executable
        ("report.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("report.txt", b"<html><body onload=alert(1)>hi</body></html>"),
        ("chart.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>'),
        ("chart.txt", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("scan.pdf", PNG),  # a real PNG whose name says PDF
        ("photo.png", PDF),
        ("notes.pdf", b"just some text\n"),
        ("notes.exe", b"just some text\n"),
        ("notes.html", b"just some text\n"),
        ("blob.txt", b"text with a \x00 NUL byte"),
        ("latin1.txt", "caf\xe9 au lait".encode("latin-1")),
    ],
)
def test_disguised_or_unknown_files_are_415(world, patient_client, name, data):
    before = snapshot()
    assert_refused(upload(patient_client, name, data), 415, "attachment_type")
    assert snapshot() == before


def test_empty_file_is_refused(world, patient_client):
    before = snapshot()
    assert_refused(upload(patient_client, "empty.pdf", b""), 400, "bad_attachment")
    assert snapshot() == before


def test_upload_without_a_file_is_422(world, patient_client):
    response = patient_client.post("/api/attachments", {"other": "x"})
    assert_refused(response, 422)
    response = post_json(patient_client, "/api/attachments", {"file": "x"})
    assert_refused(response, 422)


def test_too_many_attachments_link_nothing(world, patient_client, thread):
    uploads = [
        attachments.upload_attachment(world.patient.user, filename=f"p{n}.pdf", data=PDF)
        for n in range(6)
    ]
    before = snapshot()
    response = post_json(
        patient_client,
        f"/api/threads/{thread.uuid}/messages",
        {"body": "Six files", "attachments": [str(a.uuid) for a in uploads]},
    )
    assert_refused(response, 400, "too_many_attachments")
    assert snapshot() == before


def test_someone_elses_upload_cannot_be_attached(world, patient_client, thread):
    theirs = attachments.upload_attachment(world.other_patient.user, filename="x.pdf", data=PDF)
    mine = attachments.upload_attachment(world.patient.user, filename="y.pdf", data=PDF)
    before = snapshot()
    for listed in ([str(theirs.uuid)], [str(mine.uuid), str(uuid.uuid4())]):
        response = post_json(
            patient_client,
            f"/api/threads/{thread.uuid}/messages",
            {"body": "See attached", "attachments": listed},
        )
        assert_refused(response, 400, "bad_attachment")
    assert snapshot() == before
    assert Attachment.objects.get(pk=mine.pk).message is None


# -- text, recipients, categories -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\r\n\t"])
def test_empty_bodies_are_refused(world, patient_client, thread, text):
    before = snapshot()
    assert_refused(
        post_json(patient_client, "/api/threads", start_body(world, body=text)), 400, "empty_body"
    )
    assert_refused(
        post_json(patient_client, "/api/threads", start_body(world, subject=text)),
        400,
        "empty_body",
    )
    assert_refused(
        post_json(patient_client, f"/api/threads/{thread.uuid}/messages", {"body": text}),
        400,
        "empty_body",
    )
    assert snapshot() == before


def test_too_long_body_is_refused(world, patient_client, thread):
    before = snapshot()
    long_body = "x" * (actions.MAX_BODY + 1)
    assert_refused(
        post_json(patient_client, f"/api/threads/{thread.uuid}/messages", {"body": long_body}),
        400,
        "too_long",
    )
    assert snapshot() == before


def test_unknown_and_forbidden_recipients_get_the_same_answer(world, patient_client):
    other_pool = create_pool(world.other_org, name="Hillside desk", members=[world.outsider])
    before = snapshot()
    answers = []
    for change in (
        {"to_practitioners": [str(uuid.uuid4())]},  # does not exist
        {"to_practitioners": [str(world.c2.uuid)]},  # exists, never saw the patient
        {"to_practitioners": [str(world.outsider.uuid)]},  # another practice
        {"to_practitioners": [], "to_pool": str(uuid.uuid4())},
        {"to_practitioners": [], "to_pool": str(other_pool.uuid)},
    ):
        response = post_json(patient_client, "/api/threads", start_body(world, **change))
        answers.append((response.status_code, response.json()))
    assert answers == [
        (
            400,
            {
                "detail": "That recipient cannot be messaged from here.",
                "code": "recipient_not_allowed",
            },
        )
    ] * len(answers)
    assert_refused(
        post_json(patient_client, "/api/threads", start_body(world, to_practitioners=[])),
        400,
        "no_recipient",
    )
    assert snapshot() == before


def test_unknown_and_forbidden_patients_get_the_same_answer(world, clinician_client):
    before = snapshot()
    answers = []
    for patient_uuid in (uuid.uuid4(), world.outside_patient.uuid):
        body = start_body(world, patient=str(patient_uuid), to_practitioners=[])
        response = post_json(clinician_client, "/api/threads", body)
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1]
    assert answers[0][1]["code"] == "patient_not_allowed"
    assert snapshot() == before


def test_unknown_organisation_and_on_behalf_are_refused(world):
    staff = Client()
    staff.force_login(world.staff.user)
    before = snapshot()
    body = start_body(world, to_practitioners=[], organization=str(world.other_org.uuid))
    assert_refused(post_json(staff, "/api/threads", body), 403, "not_allowed")
    body = start_body(world, to_practitioners=[], organization=str(uuid.uuid4()))
    assert_refused(post_json(staff, "/api/threads", body), 403, "not_allowed")
    for someone in (uuid.uuid4(), world.outsider.uuid):
        body = start_body(world, to_practitioners=[], on_behalf_of=str(someone))
        assert_refused(post_json(staff, "/api/threads", body), 400, "on_behalf_not_allowed")
    assert snapshot() == before


def test_bad_category_and_readings_are_refused(world, patient_client, thread):
    before = snapshot()
    assert_refused(
        post_json(patient_client, "/api/threads", start_body(world, category="gossip")),
        400,
        "bad_category",
    )
    for readings in (
        [{"kind": "mood", "value": 3}],
        [{"kind": "weight", "value": -70}],
        [{"kind": "blood-pressure", "systolic": 120}],
    ):
        response = post_json(
            patient_client,
            f"/api/threads/{thread.uuid}/messages",
            {"body": "x", "readings": readings},
        )
        assert_refused(response, 400, "bad_readings")
    assert snapshot() == before


def test_in_response_to_from_another_thread_is_refused(world, patient_client, thread):
    other = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="refill",
        subject="Refill",
        body="Please renew",
        to_practitioners=[world.c1],
    )
    before = snapshot()
    for target in (other.uuid, uuid.uuid4()):
        response = post_json(
            patient_client,
            f"/api/threads/{thread.uuid}/messages",
            {"body": "x", "in_response_to": str(target)},
        )
        assert_refused(response, 400, "bad_request")
    assert snapshot() == before


# -- thread state: closed, reply window, versions, replays ------------------------------------


def test_reply_to_a_closed_thread_is_409(world, patient_client, clinician_client, thread):
    Thread.objects.filter(pk=thread.pk).update(status=Thread.Status.CLOSED)
    before = snapshot()
    for client in (patient_client, clinician_client):
        response = post_json(client, f"/api/threads/{thread.uuid}/messages", {"body": "Hello?"})
        assert_refused(response, 409, "thread_closed")
    assert snapshot() == before
    view = patient_client.get(f"/api/threads/{thread.uuid}").json()
    assert (view["can_reply"], view["reason"]) == (False, "thread_closed")


def test_patient_reply_outside_the_window_is_409(world, patient_client, clinician_client, thread):
    Thread.objects.filter(pk=thread.pk).update(
        last_message_at=timezone.now() - dt.timedelta(days=world.org.reply_window_days + 1)
    )
    before = snapshot()
    response = post_json(
        patient_client, f"/api/threads/{thread.uuid}/messages", {"body": "One more"}
    )
    assert_refused(response, 409, "reply_window_closed")
    assert snapshot() == before
    view = patient_client.get(f"/api/threads/{thread.uuid}").json()
    assert (view["can_reply"], view["reason"]) == (False, "reply_window_closed")
    # The practice may still answer.
    response = post_json(clinician_client, f"/api/threads/{thread.uuid}/messages", {"body": "Here"})
    assert response.status_code == 201


def test_stale_if_match_is_409_and_the_current_version_is_accepted(world, clinician_client, thread):
    view = clinician_client.get(f"/api/threads/{thread.uuid}").json()
    version = view["thread"]["version"]
    actions.reply(world.patient.user, Thread.objects.get(pk=thread.pk), body="Meanwhile...")
    before = snapshot()
    response = post_json(
        clinician_client,
        f"/api/threads/{thread.uuid}/messages",
        {"body": "Answer"},
        HTTP_IF_MATCH=f'"{version}"',
    )
    assert_refused(response, 409, "stale")
    assert snapshot() == before
    current = Thread.objects.get(pk=thread.pk).version
    response = post_json(
        clinician_client,
        f"/api/threads/{thread.uuid}/messages",
        {"body": "Answer"},
        HTTP_IF_MATCH=str(current),
    )
    assert response.status_code == 201
    assert response.json()["thread"]["version"] == current + 1


@pytest.mark.parametrize("value", ["abc", '"1', "1.5", "-3", "W/x"])
def test_malformed_if_match_is_400(world, clinician_client, thread, value):
    before = snapshot()
    response = post_json(
        clinician_client, f"/api/threads/{thread.uuid}/messages", {"body": "x"}, HTTP_IF_MATCH=value
    )
    assert_refused(response, 400, "bad_request")
    assert snapshot() == before


def test_replayed_idempotency_key_returns_the_same_message(world, patient_client, thread):
    first = post_json(
        patient_client, "/api/threads", start_body(world), HTTP_IDEMPOTENCY_KEY="compose-1"
    )
    assert first.status_code == 201
    before = snapshot()
    again = post_json(
        patient_client, "/api/threads", start_body(world), HTTP_IDEMPOTENCY_KEY="compose-1"
    )
    assert again.status_code == 200
    assert again.json()["message"]["uuid"] == first.json()["message"]["uuid"]
    assert again.json()["thread"]["uuid"] == first.json()["thread"]["uuid"]
    assert snapshot() == before

    path = f"/api/threads/{thread.uuid}/messages"
    reply = post_json(patient_client, path, {"body": "Also..."}, HTTP_IDEMPOTENCY_KEY="reply-1")
    assert reply.status_code == 201
    before = snapshot()
    again = post_json(patient_client, path, {"body": "Also..."}, HTTP_IDEMPOTENCY_KEY="reply-1")
    assert (again.status_code, again.json()["message"]["uuid"]) == (
        200,
        reply.json()["message"]["uuid"],
    )
    # The same key on another thread is a client error, not a second message.
    other = first.json()["thread"]["uuid"]
    response = post_json(
        patient_client,
        f"/api/threads/{other}/messages",
        {"body": "x"},
        HTTP_IDEMPOTENCY_KEY="reply-1",
    )
    assert_refused(response, 400, "bad_request")
    assert snapshot() == before


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "naïve"])
def test_malformed_idempotency_key_is_400(world, patient_client, thread, key):
    before = snapshot()
    response = post_json(
        patient_client,
        f"/api/threads/{thread.uuid}/messages",
        {"body": "x"},
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert_refused(response, 400, "bad_request")
    assert snapshot() == before


# -- malformed requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ("{not json", 400),
        (b"\xff\xfe\x00", 400),
        ("[1, 2, 3]", 422),
        ("null", 422),
        ('"a string"', 422),
        ({"body": 12}, 422),
        ({"body": ["a"]}, 422),
        ({"body": "x", "attachments": "not-a-list"}, 422),
        ({"body": "x", "attachments": ["not-a-uuid"]}, 422),
        ({"body": "x", "in_response_to": 7}, 422),
        ({"body": "x", "readings": [{"kind": "weight", "value": "heavy"}]}, 422),
        ({"body": "x", "readings": [{"kind": "weight", "value": True}]}, 422),
        ({"body": "x", "readings": {"kind": "weight"}}, 422),
        ({"body": "x", "attachments": [str(uuid.uuid4())] * 21}, 422),
    ],
)
def test_malformed_reply_bodies_are_4xx_json(world, patient_client, thread, payload, status):
    before = snapshot()
    response = patient_client.post(
        f"/api/threads/{thread.uuid}/messages", payload, content_type="application/json"
    )
    assert_refused(response, status)
    assert snapshot() == before


@pytest.mark.parametrize(
    "change",
    [
        {"patient": "nobody"},
        {"patient": None},
        {"to_practitioners": "c1"},
        {"to_practitioners": [{"uuid": "x"}]},
        {"include_patient": "perhaps"},
        {"subject": 42},
        {"category": None},
    ],
)
def test_malformed_start_bodies_are_422(world, patient_client, change):
    before = snapshot()
    response = post_json(patient_client, "/api/threads", start_body(world, **change))
    assert_refused(response, 422)
    assert snapshot() == before


def test_oversized_json_body_is_413_not_500(world, patient_client, thread):
    before = snapshot()
    response = post_json(
        patient_client, f"/api/threads/{thread.uuid}/messages", {"body": "x" * 3_000_000}
    )
    assert_refused(response, 413)
    assert snapshot() == before


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "many"},
        {"box": "everything"},
        {"status": "lost"},
        {"category": "gossip"},
        {"before": "yesterday"},
        {"patient": "nobody"},
        {"unread": "sometimes"},
    ],
)
def test_bad_inbox_filters_are_422(world, patient_client, query):
    assert_refused(patient_client.get("/api/threads", query), 422)


@pytest.mark.parametrize(
    "path",
    [
        "/api/threads/not-a-uuid",
        "/api/threads/not-a-uuid/messages",
        "/api/messages/123/retract",
        "/api/attachments/../../etc/passwd",
        "/api/drafts/zzz",
    ],
)
def test_malformed_ids_in_paths_are_4xx_json(world, patient_client, path):
    for method in (patient_client.get, patient_client.post):
        response = method(path)
        assert response.status_code in (400, 404, 405, 422), (path, response.status_code)
        assert response["Content-Type"].startswith("application/json")


def test_messages_and_errors_carry_no_phi(world, patient_client, thread):
    """Refusals name a code, never the patient, subject or body that was sent."""
    body = start_body(world, body="Secret rash details", to_practitioners=[str(world.c2.uuid)])
    response = post_json(patient_client, "/api/threads", body)
    text = response.content.decode()
    for phi in ("Secret rash", "Lopez", world.patient.mrn, "Another question"):
        assert phi not in text
