"""Uploading and downloading attachments through the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from support.world import client_of

from carethread.audit.models import AuditEvent
from carethread.messaging import actions
from carethread.messaging.access import access_thread
from carethread.messaging.models import Attachment

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20


def upload(client, name, data, content_type="application/octet-stream"):
    return client.post(
        "/api/attachments", {"file": SimpleUploadedFile(name, data, content_type=content_type)}
    )


def test_upload_detects_the_type_and_cleans_the_name(world):
    client = client_of(world.patient.user)
    response = upload(client, "C:\\Users\\maria\\scan.PDF", PDF, content_type="image/png")
    assert response.status_code == 201
    body = response.json()
    assert body["filename"] == "scan.PDF"
    assert body["content_type"] == "application/pdf"  # from the bytes, not the client
    assert body["size"] == len(PDF)
    row = Attachment.objects.get(uuid=body["uuid"])
    assert row.message is None and row.uploaded_by == world.patient.user
    assert PDF not in bytes(row.data_ct) and b"scan" not in bytes(row.filename_ct)
    event = AuditEvent.objects.get(action="attachment.upload")
    assert event.object_id == body["uuid"] and event.actor_id == world.patient.user.pk
    assert "scan" not in str(event.details)


def test_download_is_a_safe_audited_attachment(world):
    client = client_of(world.patient.user)
    uploaded = upload(client, "résultats été.txt", "Glucose 5,4 mmol/L — à jeun\n".encode()).json()
    first = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject="Readings",
        body="Attached",
        to_practitioners=[world.c1],
        attachments=[uploaded["uuid"]],
    )
    response = client_of(world.c1.user).get(f"/api/attachments/{uploaded['uuid']}")
    assert response.status_code == 200
    assert response.content == "Glucose 5,4 mmol/L — à jeun\n".encode()
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == (
        'attachment; filename="r_sultats _t_.txt"; '
        "filename*=UTF-8''r%C3%A9sultats%20%C3%A9t%C3%A9.txt"
    )
    assert "sandbox" in response["Content-Security-Policy"]
    event = AuditEvent.objects.get(action="attachment.download")
    assert event.actor_id == world.c1.user.pk
    assert event.patient_id == world.patient.pk
    assert event.details == {"message": str(first.uuid)}


def test_thread_view_lists_attachments(world):
    client = client_of(world.patient.user)
    uploaded = upload(client, "photo.jpg", JPEG).json()
    first = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject="Rash",
        body="See the photo",
        to_practitioners=[world.c1],
        attachments=[uploaded["uuid"]],
    )
    view = client_of(world.c1.user).get(f"/api/threads/{first.thread.uuid}").json()
    assert view["messages"][0]["attachments"] == [
        {
            "uuid": uploaded["uuid"],
            "filename": "photo.jpg",
            "content_type": "image/jpeg",
            "size": len(JPEG),
        }
    ]


def test_unsent_upload_is_only_for_its_uploader(world):
    uploaded = upload(client_of(world.patient.user), "scan.pdf", PDF).json()
    assert (
        client_of(world.patient.user).get(f"/api/attachments/{uploaded['uuid']}").status_code == 200
    )
    for user in (world.rep.user, world.c1.user, world.other_patient.user):
        assert client_of(user).get(f"/api/attachments/{uploaded['uuid']}").status_code == 404


def test_attachment_of_a_retracted_message_is_hidden_from_the_patient_side(world):
    uploaded = upload(client_of(world.patient.user), "scan.pdf", PDF).json()
    first = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject="Scan",
        body="Wrong file",
        to_practitioners=[world.c1],
        attachments=[uploaded["uuid"]],
    )
    actions.retract(world.patient.user, first)
    for user in (world.patient.user, world.rep.user):
        client = client_of(user)
        assert client.get(f"/api/attachments/{uploaded['uuid']}").status_code == 404
        view = client.get(f"/api/threads/{first.thread.uuid}").json()
        assert view["messages"][0]["attachments"] == []
    assert client_of(world.c1.user).get(f"/api/attachments/{uploaded['uuid']}").status_code == 200


def test_reply_with_attachments_lists_them_in_the_answer(world):
    first = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject="Scan",
        body="Hello",
        to_practitioners=[world.c1],
    )
    clinician = client_of(world.c1.user)
    uploaded = upload(clinician, "instructions.pdf", PDF).json()
    thread, _ = access_thread(world.c1.user, first.thread.uuid)
    response = clinician.post(
        f"/api/threads/{thread.uuid}/messages",
        {"body": "Instructions attached", "attachments": [uploaded["uuid"]]},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert [a["uuid"] for a in response.json()["message"]["attachments"]] == [uploaded["uuid"]]
    patient = client_of(world.patient.user)
    assert patient.get(f"/api/attachments/{uploaded['uuid']}").content == PDF
