"""Who may call each messaging route: one table, every route, every kind of caller.

The scene: the patient wrote to their clinician ``c1`` (a participant) and the thread sits in
the ``refills`` pool (``staff`` is a member); the patient then replied with a PDF and saved a
reply draft. A second thread is private from representatives. ``staff2`` works at the practice
but is in no pool and takes no part; ``outsider`` works at another practice.

Forbidden answers 404 exactly like a UUID that does not exist (401 for anonymous and blocked).
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from support.api import post_json
from support.world import build_world

from carethread.accounts import actions as accounts
from carethread.api import actions as api_actions
from carethread.audit.models import AuditEvent
from carethread.messaging import actions, attachments, drafts
from carethread.messaging.access import access_thread
from carethread.messaging.models import (
    Attachment,
    Draft,
    Message,
    Thread,
    ThreadMember,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
ALLOWED_READERS = {"patient", "patient_token", "rep", "participant", "pool_member"}
ACTORS = [
    "patient",
    "patient_token",
    "rep",
    "expired_rep",
    "rep_private",
    "other_patient",
    "participant",
    "pool_member",
    "colleague",
    "outsider",
    "blocked",
    "anonymous",
]


def build_scene():
    w = build_world()
    targets = {}
    for name, private in (("main", False), ("private", True)):
        first = actions.start_thread(
            w.patient.user,
            patient=w.patient,
            category="medical",
            subject="Dose question",
            body="Morning or evening?",
            to_practitioners=[w.c1],
            private=private,
        )
        if not private:
            Thread.objects.filter(pk=first.thread_id).update(pool=w.refills)
        thread, _ = access_thread(w.patient.user, first.thread.uuid)
        upload = attachments.upload_attachment(w.patient.user, filename="scan.pdf", data=PDF)
        own = actions.reply(
            w.patient.user, thread, body="Here is the scan", attachments=[upload.uuid]
        )
        targets[name] = SimpleNamespace(thread=thread, message=own, attachment=upload)
    w.main, w.private = targets["main"], targets["private"]
    w.draft = drafts.save_draft(w.patient.user, thread=w.main.thread, body="Unsent words")
    return w


def user_of(w, actor):
    return {
        "patient": w.patient.user,
        "patient_token": w.patient.user,
        "rep": w.rep.user,
        "rep_private": w.rep.user,
        "expired_rep": w.expired_rep.user,
        "other_patient": w.other_patient.user,
        "participant": w.c1.user,
        "pool_member": w.staff.user,
        "colleague": w.staff2.user,
        "outsider": w.outsider.user,
        "blocked": w.patient.user,
        "anonymous": None,
    }[actor]


def client_for(w, actor):
    client = Client()
    user = user_of(w, actor)
    if actor == "patient_token":
        _row, raw = api_actions.create_token(user, "script")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    elif user is not None:
        client.force_login(user)
    if actor == "blocked":
        accounts.block_portal_access(user, actor=None, reason_code="misuse")
    return client


def start_payload(w, actor, patient_uuid):
    payload = {
        "patient": str(patient_uuid),
        "category": "medical",
        "subject": "New question",
        "body": "Another question",
    }
    if actor in ("patient", "patient_token", "rep", "rep_private", "expired_rep", "other_patient"):
        payload["to_practitioners"] = [str(w.c1.uuid)]
    return payload


def draft_payload(w, thread_uuid):
    return {"thread": str(thread_uuid), "body": "Thinking..."}


# Each route: how to call it on a target (the real objects) and on a UUID that does not exist.
ROUTES = {
    "inbox": lambda c, w, t, missing: c.get("/api/threads", {"box": "all"}),
    "start": lambda c, w, t, missing: post_json(
        c, "/api/threads", start_payload(w, c.actor, uuid.uuid4() if missing else w.patient.uuid)
    ),
    "view": lambda c, w, t, missing: c.get(f"/api/threads/{_id(t.thread, missing)}"),
    "reply": lambda c, w, t, missing: post_json(
        c, f"/api/threads/{_id(t.thread, missing)}/messages", {"body": "A reply"}
    ),
    "read": lambda c, w, t, missing: c.post(f"/api/threads/{_id(t.thread, missing)}/read"),
    "retract": lambda c, w, t, missing: c.post(f"/api/messages/{_id(t.message, missing)}/retract"),
    "upload": lambda c, w, t, missing: c.post(
        "/api/attachments", {"file": SimpleUploadedFile("note.txt", b"blood pressure log\n")}
    ),
    "download": lambda c, w, t, missing: c.get(f"/api/attachments/{_id(t.attachment, missing)}"),
    "recipients": lambda c, w, t, missing: c.get(
        "/api/recipients", {"patient": str(uuid.uuid4() if missing else w.patient.uuid)}
    ),
    "drafts": lambda c, w, t, missing: c.get("/api/drafts"),
    "draft_create": lambda c, w, t, missing: post_json(
        c, "/api/drafts", draft_payload(w, _id(t.thread, missing))
    ),
    "draft_update": lambda c, w, t, missing: c.put(
        f"/api/drafts/{_id(w.draft, missing)}",
        draft_payload(w, w.main.thread.uuid),
        content_type="application/json",
    ),
    "draft_delete": lambda c, w, t, missing: c.delete(f"/api/drafts/{_id(w.draft, missing)}"),
    "draft_send": lambda c, w, t, missing: c.post(f"/api/drafts/{_id(w.draft, missing)}/send"),
}


def _id(row, missing):
    return uuid.uuid4() if missing else row.uuid


def expected(route, actor):
    """The status ``actor`` gets from ``route``."""
    if actor in ("anonymous", "blocked"):
        return 401
    owner = actor in ("patient", "patient_token")
    reader = actor in ALLOWED_READERS
    practice_of_org = actor in ("participant", "pool_member", "colleague")
    if route in ("inbox", "drafts"):
        return 200
    if route == "upload":
        return 201
    if route == "start":
        writes = owner or actor in ("rep", "rep_private") or practice_of_org
        return 201 if writes else 400
    if route == "recipients":
        return 200 if owner or actor in ("rep", "rep_private") or practice_of_org else 404
    if route in ("draft_update", "draft_delete", "draft_send"):
        return (
            {"draft_update": 200, "draft_delete": 204, "draft_send": 201}[route] if owner else 404
        )
    if not reader:  # includes rep_private: the target is the private thread
        return 404
    return {
        "view": 200,
        "reply": 201,
        "read": 200,
        "retract": 200 if owner else 403,
        "download": 200,
        "draft_create": 201,
    }[route]


CASES = [(route, actor) for route in ROUTES for actor in ACTORS]


@pytest.mark.parametrize(("route", "actor"), CASES)
def test_route_answers_each_kind_of_caller(route, actor):
    w = build_scene()
    target = w.private if actor == "rep_private" else w.main
    client = client_for(w, actor)
    client.actor = actor
    response = ROUTES[route](client, w, target, False)
    want = expected(route, actor)
    assert response.status_code == want, response.content
    if want >= 400:
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert "detail" in body
        if want in (404, 400) and route not in ("upload",):
            # The same answer for a UUID that does not exist.
            missing = ROUTES[route](client, w, target, True)
            assert (missing.status_code, missing.json()) == (want, body)
        if want == 400:
            assert body["code"] == "patient_not_allowed"
    if route == "inbox" and want == 200:
        listed = {row["uuid"] for row in response.json()["threads"]}
        assert (str(target.thread.uuid) in listed) == (actor in ALLOWED_READERS)
        assert (str(w.private.thread.uuid) in listed) == (
            actor in ("patient", "patient_token", "participant")
        )
    if route == "drafts" and want == 200:
        listed = [row["uuid"] for row in response.json()]
        assert listed == ([str(w.draft.uuid)] if actor in ("patient", "patient_token") else [])


def counts():
    return (
        Thread.objects.count(),
        Message.objects.count(),
        ThreadMember.objects.filter(unread=0).count(),
        Attachment.objects.count(),
        Draft.objects.count(),
        AuditEvent.objects.count(),
    )


UNSAFE = [
    "start",
    "reply",
    "read",
    "retract",
    "upload",
    "draft_create",
    "draft_update",
    "draft_delete",
    "draft_send",
]


@pytest.mark.parametrize("route", UNSAFE)
def test_session_writes_need_the_csrf_token(route):
    w = build_scene()
    client = Client(enforce_csrf_checks=True)
    client.force_login(w.patient.user)
    client.actor = "patient"
    before = counts()
    refused = ROUTES[route](client, w, w.main, False)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "CSRF check Failed"}
    assert counts() == before

    client.get("/account/api-tokens")  # a page that sets the CSRF cookie
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    accepted = ROUTES[route](client, w, w.main, False)
    assert accepted.status_code == expected(route, "patient"), accepted.content


def test_token_callers_need_no_csrf_token():
    w = build_scene()
    _row, raw = api_actions.create_token(w.patient.user, "script")
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = post_json(client, f"/api/threads/{w.main.thread.uuid}/messages", {"body": "Hi"})
    assert response.status_code == 201


def test_expired_representative_keeps_no_inbox_rows_through_the_api():
    w = build_scene()
    # The expired representative was never a member; make them one, as if they had been.
    ThreadMember.objects.create(
        thread=w.main.thread, user=w.expired_rep.user, side="representative"
    )
    client = client_for(w, "expired_rep")
    assert client.get("/api/threads").json()["threads"] == []
    assert client.get(f"/api/threads/{w.main.thread.uuid}").status_code == 404
