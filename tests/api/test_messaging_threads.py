"""The messaging routes' answers: inbox rows and paging, starting, viewing, replying, reading
and retracting, as the patient side and as the practice see them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from support.api import post_json
from support.world import client_of, patient_question

from carethread.api import actions as api_actions
from carethread.api.messaging_schemas import Box
from carethread.audit.models import AuditEvent
from carethread.messaging import actions, queries
from carethread.messaging.access import access_thread
from carethread.messaging.models import Message, Note, Thread

pytestmark = pytest.mark.django_db


def start(world, subject="Dose question", **kw):
    return patient_question(world, subject=subject, **kw)


def test_boxes_match_the_inbox_query():
    assert set(Box.__args__) == set(queries.BOXES)


def test_inbox_rows_as_the_practice_sees_them(world):
    message = start(world)
    Thread.objects.filter(pk=message.thread_id).update(pool=world.refills, assignee=world.c1)
    body = client_of(world.c1.user).get("/api/threads").json()
    (row,) = body["threads"]
    thread = Thread.objects.get(pk=message.thread_id)
    assert row["uuid"] == str(thread.uuid)
    assert row["subject"] == "Dose question"
    assert (row["category"], row["status"], row["kind"]) == ("medical", "open", "patient")
    assert row["patient"] == {
        "uuid": str(world.patient.uuid),
        "mrn": "RFM-1001",
        "name": "Pat Lopez",
    }
    assert row["organization"] == {"uuid": str(world.org.uuid), "name": world.org.name}
    assert row["pool"] == {"uuid": str(world.refills.uuid), "name": "Refills"}
    assert row["assignee"] == {"uuid": str(world.c1.uuid), "name": "Dr Rivera"}
    assert row["unread"] == 1 and body["unread_total"] == 1
    assert row["version"] == thread.version
    assert row["overdue"] is False and row["reply_due_at"] is not None
    assert body["next_before"] is None


def test_inbox_rows_as_the_patient_side_sees_them(world):
    message = start(world)
    Thread.objects.filter(pk=message.thread_id).update(pool=world.refills, assignee=world.c1)
    for user in (world.patient.user, world.rep.user):
        (row,) = client_of(user).get("/api/threads").json()["threads"]
        assert row["patient"] == {"uuid": str(world.patient.uuid), "mrn": None, "name": "Pat Lopez"}
        assert row["pool"] is None and row["assignee"] is None
        assert "RFM-1001" not in str(row)


def test_overdue_marker_and_filters(world):
    late = start(world, subject="Late")
    start(world, subject="Refill", category="refill")
    Thread.objects.filter(pk=late.thread_id).update(
        reply_due_at=timezone.now() - dt.timedelta(hours=1)
    )
    client = client_of(world.c1.user)
    rows = client.get("/api/threads", {"overdue": "true"}).json()["threads"]
    assert [(r["subject"], r["overdue"]) for r in rows] == [("Late", True)]
    rows = client.get("/api/threads", {"category": "refill"}).json()["threads"]
    assert [r["subject"] for r in rows] == ["Refill"]
    rows = client.get("/api/threads", {"box": "patient", "patient": str(world.patient.uuid)})
    assert len(rows.json()["threads"]) == 2
    rows = client.get("/api/threads", {"status": "closed"}).json()["threads"]
    assert rows == []


def test_pool_box(world):
    message = start(world, subject="Refill please", to_practitioners=[], to_pool=world.refills)
    rows = client_of(world.staff.user).get(
        "/api/threads", {"box": "pool", "pool": str(world.refills.uuid)}
    )
    assert [r["uuid"] for r in rows.json()["threads"]] == [str(message.thread.uuid)]
    rows = client_of(world.c2.user).get(
        "/api/threads", {"box": "pool", "pool": str(world.refills.uuid)}
    )
    assert rows.json()["threads"] == []


@pytest.mark.parametrize(("who", "box"), [("c1", "mine"), ("c1", "all"), ("patient", "mine")])
def test_paging_with_before_visits_every_thread_once(world, who, box):
    made = [start(world, subject=f"Question {n}").thread_id for n in range(5)]
    client = client_of(getattr(world, who).user)
    seen, before = [], None
    for _ in range(4):
        params = {"limit": 2, "box": box, **({"before": before} if before else {})}
        page = client.get("/api/threads", params).json()
        seen += [row["subject"] for row in page["threads"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == [f"Question {n}" for n in reversed(range(5))]
    assert len(made) == 5


def test_unread_filter_and_total_follow_mark_read(world):
    first = start(world, subject="One")
    start(world, subject="Two")
    client = client_of(world.c1.user)
    assert client.get("/api/threads").json()["unread_total"] == 2
    response = client.post(f"/api/threads/{first.thread.uuid}/read")
    assert response.json() == {"unread": 0, "receipts": 1}
    body = client.get("/api/threads", {"unread": "true"}).json()
    assert [r["subject"] for r in body["threads"]] == ["Two"]
    assert body["unread_total"] == 1
    assert AuditEvent.objects.filter(action="message.read", actor_id=world.c1.user.pk).count() == 1


def test_start_as_patient_returns_thread_and_message(world):
    response = post_json(
        client_of(world.patient.user),
        "/api/threads",
        {
            "patient": str(world.patient.uuid),
            "category": "medical",
            "subject": "My readings",
            "body": "Here are this week's numbers.",
            "to_practitioners": [str(world.c1.uuid)],
            "readings": [
                {
                    "kind": "blood-pressure",
                    "systolic": 128,
                    "diastolic": 82,
                    "unit": "mmHg",
                    "taken_at": "2026-01-05T08:00:00+00:00",
                },
                {"kind": "weight", "value": 71.5, "unit": "kg"},
            ],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["thread"]["subject"] == "My readings"
    assert body["thread"]["patient"]["mrn"] is None
    message = body["message"]
    assert message["sender"] == {"kind": "patient", "label": "Pat Lopez"}
    assert message["side"] == "patient" and message["body"] == "Here are this week's numbers."
    assert message["readings"] == [
        {
            "kind": "blood-pressure",
            "systolic": 128,
            "diastolic": 82,
            "unit": "mmHg",
            "taken_at": "2026-01-05T08:00:00+00:00",
        },
        {"kind": "weight", "value": 71.5, "unit": "kg"},
    ]
    row = Message.objects.get(uuid=message["uuid"])
    assert row.thread.uuid.hex == body["thread"]["uuid"].replace("-", "")
    assert row.client_key is None


def test_representative_writes_on_behalf_of_the_patient(world):
    response = post_json(
        client_of(world.rep.user),
        "/api/threads",
        {
            "patient": str(world.patient.uuid),
            "category": "refill",
            "subject": "Refill",
            "body": "Please renew",
            "to_pool": str(world.refills.uuid),
        },
    )
    assert response.status_code == 201
    assert response.json()["message"]["sender"] == {
        "kind": "representative",
        "label": "Jane Doe on behalf of Pat Lopez",
    }


def test_practice_writes_to_a_patient_and_about_a_patient(world):
    client = client_of(world.c1.user)
    to_patient = post_json(
        client,
        "/api/threads",
        {
            "patient": str(world.patient.uuid),
            "category": "other",
            "subject": "Results",
            "body": "Your results are normal.",
        },
    )
    assert to_patient.status_code == 201
    assert to_patient.json()["thread"]["patient"]["mrn"] == "RFM-1001"
    clinical = post_json(
        client,
        "/api/threads",
        {
            "patient": str(world.patient.uuid),
            "category": "medical",
            "subject": "Second opinion",
            "body": "Could you look at this?",
            "to_practitioners": [str(world.c2.uuid)],
            "include_patient": False,
        },
    )
    assert clinical.status_code == 201
    assert clinical.json()["thread"]["kind"] == "clinical"
    # The patient does not see the clinicians' conversation.
    uuid = clinical.json()["thread"]["uuid"]
    assert client_of(world.patient.user).get(f"/api/threads/{uuid}").status_code == 404
    assert client_of(world.c2.user).get(f"/api/threads/{uuid}").status_code == 200


def test_staff_sends_on_behalf_of_a_clinician(world):
    message = start(world)
    Thread.objects.filter(pk=message.thread_id).update(pool=world.refills)
    response = post_json(
        client_of(world.staff.user),
        f"/api/threads/{message.thread.uuid}/messages",
        {"body": "Dr Rivera says mornings.", "on_behalf_of": str(world.c1.uuid)},
    )
    assert response.status_code == 201
    assert response.json()["message"]["sender"]["label"] == "Dr Okafor on behalf of Dr Rivera"


def test_thread_view_for_practice_and_patient(world):
    first = start(world)
    thread, _ = access_thread(world.c1.user, first.thread.uuid)
    answer = actions.reply(world.c1.user, thread, body="Morning is fine.")
    mistaken = actions.reply(world.patient.user, thread, body="Oops, wrong thread")
    actions.retract(world.patient.user, mistaken)
    note = Note(thread=thread, author=world.c1)
    note.seal("body_ct", "Called the pharmacy")
    note.save()

    practice = client_of(world.c1.user).get(f"/api/threads/{thread.uuid}").json()
    assert practice["side"] == "practice" and practice["can_reply"] is True
    by_uuid = {m["uuid"]: m for m in practice["messages"]}
    assert by_uuid[str(answer.uuid)]["in_response_to"] == str(first.uuid)
    assert by_uuid[str(answer.uuid)]["sender"] == {"kind": "practitioner", "label": "Dr Rivera"}
    assert by_uuid[str(answer.uuid)]["side"] == "practice"
    assert by_uuid[str(mistaken.uuid)]["retracted"] is True
    assert by_uuid[str(mistaken.uuid)]["status"] == "entered-in-error"
    assert by_uuid[str(mistaken.uuid)]["body"] == "Oops, wrong thread"
    assert [n["body"] for n in practice["notes"]] == ["Called the pharmacy"]
    assert practice["notes"][0]["author"] == {"uuid": str(world.c1.uuid), "name": "Dr Rivera"}

    patient = client_of(world.patient.user).get(f"/api/threads/{thread.uuid}").json()
    assert patient["side"] == "patient" and patient["notes"] is None
    by_uuid = {m["uuid"]: m for m in patient["messages"]}
    assert by_uuid[str(mistaken.uuid)]["body"] is None
    assert by_uuid[str(answer.uuid)]["body"] == "Morning is fine."
    assert "Called the pharmacy" not in str(patient)
    assert AuditEvent.objects.filter(action="thread.view", object_id=str(thread.uuid)).count() == 2


def test_read_receipts_both_ways(world):
    first = start(world)
    thread = first.thread
    patient, clinician = client_of(world.patient.user), client_of(world.c1.user)
    unread = patient.get(f"/api/threads/{thread.uuid}").json()["messages"][0]
    assert unread["read_at"] is None
    assert clinician.post(f"/api/threads/{thread.uuid}/read").json()["receipts"] == 1
    mine = patient.get(f"/api/threads/{thread.uuid}").json()["messages"][0]
    assert mine["read_at"] is not None

    reply = post_json(clinician, f"/api/threads/{thread.uuid}/messages", {"body": "Morning."})
    assert reply.json()["message"]["read_at"] is None
    assert patient.post(f"/api/threads/{thread.uuid}/read").json()["receipts"] >= 1
    seen = {
        m["uuid"]: m["read_at"]
        for m in clinician.get(f"/api/threads/{thread.uuid}").json()["messages"]
    }
    assert seen[reply.json()["message"]["uuid"]] is not None


def test_reply_answers_with_the_new_version(world):
    first = start(world)
    client = client_of(world.c1.user)
    view = client.get(f"/api/threads/{first.thread.uuid}").json()
    version = view["thread"]["version"]
    response = post_json(
        client,
        f"/api/threads/{first.thread.uuid}/messages",
        {"body": "Morning.", "in_response_to": str(first.uuid)},
        HTTP_IF_MATCH=f'"{version}"',
    )
    assert response.status_code == 201
    assert response.json()["thread"]["version"] == version + 1
    assert response.json()["message"]["in_response_to"] == str(first.uuid)


def test_retract_own_message(world):
    first = start(world)
    client = client_of(world.patient.user)
    response = client.post(f"/api/messages/{first.uuid}/retract")
    assert response.status_code == 200
    body = response.json()
    assert body["retracted"] is True and body["body"] is None
    assert Message.objects.get(pk=first.pk).status == "entered-in-error"
    again = client.post(f"/api/messages/{first.uuid}/retract")
    assert again.status_code == 409 and again.json()["code"] == "already_retracted"
    # The practice still sees what was written.
    view = client_of(world.c1.user).get(f"/api/threads/{first.thread.uuid}").json()
    assert view["messages"][0]["body"] == "Morning or evening?"


def test_practice_retracts_a_practice_message_and_not_a_patients(world):
    first = start(world)
    thread, _ = access_thread(world.c1.user, first.thread.uuid)
    answer = actions.reply(world.c1.user, thread, body="Wrong advice")
    colleague = client_of(world.c1.user)
    assert colleague.post(f"/api/messages/{answer.uuid}/retract").status_code == 200
    refused = colleague.post(f"/api/messages/{first.uuid}/retract")
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"


def test_token_callers_use_every_read_route(world):
    first = start(world)
    _row, raw = api_actions.create_token(world.patient.user, "script")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/threads").status_code == 200
    assert client.get(f"/api/threads/{first.thread.uuid}").status_code == 200
    assert client.get("/api/recipients", {"patient": str(world.patient.uuid)}).status_code == 200
    assert client.get("/api/drafts").status_code == 200


def test_recipients_for_the_compose_form(world):
    patient_side = client_of(world.patient.user).get(
        "/api/recipients", {"patient": str(world.patient.uuid)}
    )
    body = patient_side.json()
    assert [p["uuid"] for p in body["practitioners"]] == [str(world.c1.uuid)]
    assert {p["name"] for p in body["pools"]} == {"Refills", "Front desk"}
    assert "email" not in str(body) and "npi" not in str(body)

    practice = client_of(world.c1.user).get("/api/recipients", {"patient": str(world.patient.uuid)})
    names = {p["uuid"] for p in practice.json()["practitioners"]}
    assert names == {str(world.c2.uuid), str(world.staff.uuid), str(world.staff2.uuid)}
    assert practice.json()["pools"] == []


def test_openapi_lists_the_messaging_routes(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {
        "/api/threads",
        "/api/threads/{thread_uuid}",
        "/api/threads/{thread_uuid}/messages",
        "/api/threads/{thread_uuid}/read",
        "/api/messages/{message_uuid}/retract",
        "/api/attachments",
        "/api/attachments/{attachment_uuid}",
        "/api/recipients",
        "/api/drafts",
        "/api/drafts/{draft_uuid}",
        "/api/drafts/{draft_uuid}/send",
    } <= set(paths)
    headers = {
        p["name"] for p in paths["/api/threads/{thread_uuid}/messages"]["post"]["parameters"]
    }
    assert {"Idempotency-Key", "If-Match"} <= headers
