"""REST routes of the triage workflow, as owner, colleague and outsider."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.test import Client
from django.utils import timezone
from support.world import build_world, patient_question

from carethread.api import actions as api_actions
from carethread.audit.models import AuditEvent
from carethread.core.models import Membership
from carethread.messaging import actions
from carethread.messaging.models import Note, OutOfOffice, Outreach, RoutingRule, Template, Thread


@pytest.fixture
def world(db):
    w = build_world()
    Membership.objects.filter(practitioner=w.c1, organization=w.org).update(is_admin=True)
    return w


class Api:
    """A token client for one user."""

    def __init__(self, user):
        _row, self.token = api_actions.create_token(user, "tests")
        self.client = Client()

    def call(self, method, path, body=None, **headers):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}
        kwargs.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path, **h):
        return self.call("get", path, **h)

    def post(self, path, body=None, **h):
        return self.call("post", path, body if body is not None else {}, **h)

    def put(self, path, body=None, **h):
        return self.call("put", path, body if body is not None else {}, **h)

    def patch(self, path, body=None, **h):
        return self.call("patch", path, body if body is not None else {}, **h)

    def delete(self, path, **h):
        return self.call("delete", path, **h)


def api(user):
    return Api(user)


def patient_thread(world):
    message = patient_question(world, subject="Question", body="Is this normal?")
    return Thread.objects.get(pk=message.thread_id)


# -- thread routes ----------------------------------------------------------------------------


def test_claim_answers_the_new_version_and_refuses_the_second_claim(world):
    message = actions.start_thread(
        world.patient.user, patient=world.patient, category="appointment", subject="Booking",
        body="Tuesday?", to_pool=world.front,
    )  # fmt: skip
    thread = Thread.objects.get(pk=message.thread_id)
    path = f"/api/threads/{thread.uuid}/claim"
    response = api(world.staff.user).post(path, if_match=f'"{thread.version}"')
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["assignee"] == str(world.staff.uuid)
    assert body["pool"] == str(world.front.uuid)
    assert body["version"] == thread.version + 1
    assert response["ETag"] == f'"{thread.version + 1}"'
    assert body["overdue"] is False
    # The other member of the pool comes second.
    response = api(world.c2.user).post(path)
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Someone else has already claimed this conversation.",
        "code": "already_claimed",
    }
    assert Thread.objects.get(pk=thread.pk).assignee == world.staff


def test_if_match_mismatch_is_409_stale_and_changes_nothing(world):
    thread = patient_thread(world)
    client = api(world.c1.user)
    for path, body in (
        ("claim", {}),
        ("assign", {"assignee": str(world.c2.uuid)}),
        ("status", {"status": "done"}),
    ):
        response = client.post(f"/api/threads/{thread.uuid}/{path}", body, if_match='"1"')
        assert response.status_code == 409, path
        assert response.json()["code"] == "stale"
    thread.refresh_from_db()
    assert thread.assignee is None and thread.status == "open"
    response = client.post(f"/api/threads/{thread.uuid}/claim", if_match="soon")
    assert response.status_code == 400 and response.json()["code"] == "bad_request"


def test_assign_status_and_notes(world):
    thread = patient_thread(world)
    client = api(world.c1.user)
    response = client.post(f"/api/threads/{thread.uuid}/assign", {"assignee": str(world.c2.uuid)})
    assert response.status_code == 200 and response.json()["assignee"] == str(world.c2.uuid)
    response = client.post(f"/api/threads/{thread.uuid}/assign", {"assignee": None})
    assert response.status_code == 200 and response.json()["assignee"] is None
    response = client.post(
        f"/api/threads/{thread.uuid}/assign", {"assignee": str(world.outsider.uuid)}
    )
    assert response.status_code == 400 and response.json()["code"] == "bad_assignee"
    response = client.post(f"/api/threads/{thread.uuid}/assign", {"assignee": str(uuid.uuid4())})
    assert response.status_code == 400 and response.json()["code"] == "bad_assignee"

    response = client.post(f"/api/threads/{thread.uuid}/status", {"status": "closed"})
    assert response.status_code == 200
    assert response.json()["status"] == "closed" and response.json()["closed_at"]
    response = client.post(f"/api/threads/{thread.uuid}/status", {"status": "open"})
    assert response.json()["closed_at"] is None
    response = client.post(f"/api/threads/{thread.uuid}/status", {"status": "maybe"})
    assert response.status_code == 400 and response.json()["code"] == "bad_status"

    response = client.post(f"/api/threads/{thread.uuid}/notes", {"body": "Call back Tuesday"})
    assert response.status_code == 201
    note = Note.objects.get(uuid=response.json()["uuid"])
    assert note.unseal("body_ct") == "Call back Tuesday"
    assert "Call back" not in response.content.decode()
    response = client.post(f"/api/threads/{thread.uuid}/notes", {"body": " "})
    assert response.status_code == 400 and response.json()["code"] == "empty_body"


def test_overdue_shows_in_the_thread_state(world):
    thread = patient_thread(world)
    Thread.objects.filter(pk=thread.pk).update(reply_due_at=timezone.now() - dt.timedelta(hours=1))
    response = api(world.c1.user).post(f"/api/threads/{thread.uuid}/claim")
    assert response.json()["overdue"] is True


@pytest.mark.parametrize("who", ["patient", "rep", "outsider", "staff2"])
def test_thread_routes_are_404_for_everyone_but_the_practice_side(world, who):
    thread = patient_thread(world)
    user = {
        "patient": world.patient.user,
        "rep": world.rep.user,
        "outsider": world.outsider.user,
        "staff2": world.staff2.user,  # a practice user who is no member of the thread
    }[who]
    client = api(user)
    before = Thread.objects.get(pk=thread.pk).version
    for path, body in (
        ("claim", {}),
        ("assign", {"assignee": str(world.c2.uuid)}),
        ("status", {"status": "closed"}),
        ("notes", {"body": "hello"}),
    ):
        response = client.post(f"/api/threads/{thread.uuid}/{path}", body)
        assert response.status_code == 404, (who, path)
        assert response.json() == {"detail": "Not found."}
    response = client.post(f"/api/threads/{uuid.uuid4()}/claim")
    assert response.status_code == 404
    assert Thread.objects.get(pk=thread.pk).version == before
    assert not Note.objects.exists()


def test_session_callers_need_the_csrf_token(world):
    thread = patient_thread(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.c1.user)
    response = client.post(f"/api/threads/{thread.uuid}/claim")
    assert response.status_code == 403
    assert Thread.objects.get(pk=thread.pk).assignee is None


def test_anonymous_is_401(world):
    thread = patient_thread(world)
    assert Client().post(f"/api/threads/{thread.uuid}/claim").status_code == 401


# -- templates --------------------------------------------------------------------------------


def test_templates_create_list_patch_render(world):
    admin = api(world.c1.user)
    response = admin.post(
        "/api/templates",
        {
            "organization": str(world.org.uuid),
            "name": "Results normal",
            "subject": "Your results",
            "body": "Hi {patient_first_name}, your results from {practice_name} are normal.",
            "category": "medical",
        },
    )
    assert response.status_code == 201, response.content
    template_uuid = response.json()["uuid"]
    listed = api(world.staff.user).get("/api/templates").json()
    assert [t["uuid"] for t in listed] == [template_uuid]
    assert api(world.outsider.user).get("/api/templates").json() == []
    assert api(world.patient.user).get("/api/templates").json() == []

    response = admin.patch(f"/api/templates/{template_uuid}", {"name": "Normal results"})
    assert response.status_code == 200 and response.json()["name"] == "Normal results"
    response = admin.patch(f"/api/templates/{template_uuid}", {"body": "Hi {nope}"})
    assert response.status_code == 400 and response.json()["code"] == "bad_template"

    thread = patient_thread(world)
    response = api(world.c1.user).get(f"/api/templates/{template_uuid}/render?thread={thread.uuid}")
    assert response.status_code == 200
    assert response.json() == {
        "subject": "Your results",
        "body": "Hi Pat, your results from Riverside Family Medicine are normal.",
    }
    # A thread the caller may not see, and a patient caller: 404.
    for user in (world.staff2.user, world.patient.user, world.outsider.user):
        response = api(user).get(f"/api/templates/{template_uuid}/render?thread={thread.uuid}")
        assert response.status_code == 404

    response = admin.patch(f"/api/templates/{template_uuid}", {"active": False})
    assert response.json()["active"] is False
    assert api(world.staff.user).get("/api/templates").json() == []


def test_templates_are_written_by_administrators_only(world):
    body = {"organization": str(world.org.uuid), "name": "x", "body": "y"}
    assert api(world.c2.user).post("/api/templates", body).status_code == 404
    assert api(world.patient.user).post("/api/templates", body).status_code == 404
    template = Template.objects.create(organization=world.org, name="t", body="b")
    response = api(world.staff.user).patch(f"/api/templates/{template.uuid}", {"name": "u"})
    assert response.status_code == 404
    response = api(world.c1.user).post("/api/templates", {**body, "name": "t"})
    assert response.status_code == 409 and response.json()["code"] == "template_name_taken"
    assert Template.objects.count() == 1


def test_retiring_a_template_keeps_it_for_the_record(world):
    template = Template.objects.create(organization=world.org, name="Flu", body="Flu shots.")
    path = f"/api/templates/{template.uuid}"
    for who in ("staff", "c2", "patient", "outsider"):
        assert api(getattr(world, who).user).delete(path).status_code == 404
    assert Template.objects.get().active is True
    admin = api(world.c1.user)
    assert admin.delete(path).status_code == 204
    assert admin.delete(path).status_code == 204
    assert Template.objects.get().active is False
    assert AuditEvent.objects.filter(action="template.deactivate").count() == 1
    assert api(world.staff.user).get("/api/templates").json() == []
    assert admin.delete(f"/api/templates/{uuid.uuid4()}").status_code == 404


# -- practice settings ------------------------------------------------------------------------


def test_practice_settings_for_the_administrator(world):
    client = api(world.c1.user)
    path = f"/api/practices/{world.org.uuid}/settings"
    body = client.get(path).json()
    assert body["messaging_enabled"] is True and body["expected_response_hours"] == 72
    response = client.put(path, {"messaging_enabled": False, "reply_window_days": 7})
    assert response.status_code == 200
    assert response.json()["messaging_enabled"] is False
    assert response.json()["reply_window_days"] == 7
    fields = sorted(e.details["field"] for e in AuditEvent.objects.filter(action="setting.changed"))
    assert fields == ["messaging_enabled", "reply_window_days"]
    response = client.put(path, {"expected_response_hours": 0})
    assert response.status_code == 400 and response.json()["code"] == "bad_setting"
    response = client.put(path, {"expected_response_hours": "soon"})
    assert response.status_code == 422


@pytest.mark.parametrize("who", ["c2", "staff", "patient", "rep", "outsider"])
def test_practice_settings_are_404_for_non_administrators(world, who):
    user = getattr(world, who).user
    client = api(user)
    path = f"/api/practices/{world.org.uuid}/settings"
    assert client.get(path).status_code == 404
    assert client.put(path, {"messaging_enabled": False}).status_code == 404
    response = client.put(
        f"/api/practices/{world.org.uuid}/routing/refill", {"pool": str(world.refills.uuid)}
    )
    assert response.status_code == 404
    assert client.delete(f"/api/practices/{world.org.uuid}/routing/refill").status_code == 404
    assert not AuditEvent.objects.filter(action="setting.changed").exists()


def test_routing_routes(world):
    client = api(world.c1.user)
    path = f"/api/practices/{world.org.uuid}/routing/refill"
    response = client.put(path, {"pool": str(world.refills.uuid)})
    assert response.status_code == 200
    assert response.json()["routing"] == [{"category": "refill", "pool": str(world.refills.uuid)}]
    assert RoutingRule.objects.get().pool == world.refills
    response = client.put(f"/api/practices/{world.org.uuid}/routing/gossip",
                          {"pool": str(world.refills.uuid)})  # fmt: skip
    assert response.status_code == 400 and response.json()["code"] == "bad_category"
    response = client.put(path, {"pool": str(uuid.uuid4())})
    assert response.status_code == 400 and response.json()["code"] == "bad_pool"
    assert client.delete(path).status_code == 204
    assert not RoutingRule.objects.exists()


def test_a_pool_response_target(world):
    path = f"/api/practices/{world.org.uuid}/pools/{world.refills.uuid}/response-target"
    for who in ("c2", "staff", "patient", "outsider"):
        assert api(getattr(world, who).user).put(path, {"hours": 8}).status_code == 404
    client = api(world.c1.user)
    response = client.put(path, {"hours": 8})
    assert response.status_code == 200, response.content
    targets = {p["name"]: p["response_target_hours"] for p in response.json()["pools"]}
    assert targets == {"Front desk": None, "Refills": 8}
    event = AuditEvent.objects.get(action="setting.changed")
    assert event.details["field"] == "response_target_hours"
    response = client.put(path, {"hours": 0})
    assert response.status_code == 400 and response.json()["code"] == "bad_setting"
    assert client.put(path, {}).status_code == 422
    response = client.put(path, {"hours": None})
    assert response.status_code == 200
    world.refills.refresh_from_db()
    assert world.refills.response_target_hours is None
    other = f"/api/practices/{world.org.uuid}/pools/{uuid.uuid4()}/response-target"
    assert client.put(other, {"hours": 8}).status_code == 404


# -- out of office ----------------------------------------------------------------------------


def test_out_of_office_routes(world):
    client = api(world.c1.user)
    now = timezone.now()
    response = client.put(
        "/api/me/out-of-office",
        {
            "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
            "ends_at": (now + dt.timedelta(days=2)).isoformat(),
            "reply_text": "Back on Thursday.",
            "delegate": str(world.c2.uuid),
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["delegate"] == str(world.c2.uuid)
    assert OutOfOffice.objects.get().practitioner == world.c1
    response = client.put(
        "/api/me/out-of-office",
        {
            "starts_at": now.isoformat(),
            "ends_at": (now + dt.timedelta(days=2)).isoformat(),
            "delegate": str(world.outsider.uuid),
        },
    )
    assert response.status_code == 400 and response.json()["code"] == "bad_delegate"
    assert client.delete("/api/me/out-of-office").status_code == 204
    assert OutOfOffice.objects.get().ends_at <= timezone.now()
    response = api(world.patient.user).put(
        "/api/me/out-of-office",
        {"starts_at": now.isoformat(), "ends_at": (now + dt.timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 403 and response.json()["code"] == "not_allowed"


def test_reading_the_callers_out_of_office(world):
    client = api(world.c1.user)
    assert client.get("/api/me/out-of-office").status_code == 204
    now = timezone.now()
    absence = {
        "starts_at": (now + dt.timedelta(days=1)).isoformat(),
        "ends_at": (now + dt.timedelta(days=3)).isoformat(),
        "reply_text": "Back on Monday.",
    }
    written = client.put("/api/me/out-of-office", absence).json()
    response = client.get("/api/me/out-of-office")
    assert response.status_code == 200 and response.json() == written
    assert api(world.c2.user).get("/api/me/out-of-office").status_code == 204
    assert api(world.patient.user).get("/api/me/out-of-office").status_code == 204
    assert client.delete("/api/me/out-of-office").status_code == 204
    assert client.get("/api/me/out-of-office").status_code == 204


# -- outreach ---------------------------------------------------------------------------------


def outreach_body(world, patients, **kw):
    body = {
        "organization": str(world.org.uuid),
        "patients": [str(p) for p in patients],
        "category": "appointment",
        "subject": "Time for a check-up, {patient_first_name}",
        "body": "Please book at {portal_url}",
    }
    body.update(kw)
    return body


def test_outreach_preview_confirm_and_second_confirm(world):
    client = api(world.staff.user)
    patients = [world.patient.uuid, world.other_patient.uuid, world.unenrolled.uuid]
    response = client.post(
        "/api/outreach", outreach_body(world, patients, on_behalf_of=str(world.c1.uuid))
    )
    assert response.status_code == 201, response.content
    preview = response.json()
    assert preview["reachable"] == 2 and preview["state"] == "preview"
    assert preview["counts"] == {"not_patient": 0, "not_enrolled": 1, "blocked": 0}
    assert preview["skipped"] == [{"patient": str(world.unenrolled.uuid), "reason": "not_enrolled"}]
    assert preview["sample"]["subject"] == "Time for a check-up, Pat"
    assert not Thread.objects.exists()

    response = client.post(f"/api/outreach/{preview['uuid']}/confirm")
    assert response.status_code == 200
    assert response.json()["messages"] == 2 and response.json()["state"] == "sent"
    assert Thread.objects.count() == 2
    response = client.post(f"/api/outreach/{preview['uuid']}/confirm")
    assert response.status_code == 409 and response.json()["code"] == "outreach_state"
    assert Thread.objects.count() == 2


def test_outreach_limit_cancel_and_strangers(world, settings):
    settings.CARETHREAD_OUTREACH_LIMIT = 1
    client = api(world.staff.user)
    patients = [world.patient.uuid, world.other_patient.uuid]
    response = client.post("/api/outreach", outreach_body(world, patients))
    assert response.status_code == 400 and response.json()["code"] == "outreach_too_large"
    assert not Outreach.objects.exists()

    response = client.post("/api/outreach", outreach_body(world, [world.patient.uuid]))
    row = response.json()["uuid"]
    # Someone else's outreach does not exist for them.
    assert api(world.c1.user).post(f"/api/outreach/{row}/confirm").status_code == 404
    assert api(world.c1.user).post(f"/api/outreach/{row}/cancel").status_code == 404
    response = client.post(f"/api/outreach/{row}/cancel")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert client.post(f"/api/outreach/{row}/confirm").status_code == 409
    # Another practice, a patient: 404 for the organisation.
    for user in (world.outsider.user, world.patient.user):
        response = api(user).post("/api/outreach", outreach_body(world, [world.patient.uuid]))
        assert response.status_code == 404
    assert not Thread.objects.exists()


def test_no_phi_in_the_audit_details_of_triage_routes(world):
    thread = patient_thread(world)
    client = api(world.c1.user)
    client.post(f"/api/threads/{thread.uuid}/notes", {"body": "Lopez seems worried"})
    client.post(f"/api/threads/{thread.uuid}/status", {"status": "done"})
    client.post("/api/outreach", outreach_body(world, [world.patient.uuid]))
    text = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    for secret in ("Lopez", "worried", "check-up", world.patient.mrn, world.patient.email):
        assert secret not in text
