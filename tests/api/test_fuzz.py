"""Fuzz every REST operation from the served OpenAPI description (schemathesis).

The schema is read from the WSGI application in-process (``/api/openapi.json``). For each
operation hypothesis draws cases that fit the schema and cases that do not, sends them to the
application with a personal API token of a practice user (with MFA, an administrator of the
practice) or of a patient, and checks every answer:

* never a 5xx;
* every error (4xx) is a JSON object with a ``detail``;
* the status code is documented for the operation, the content type is the documented one, and
  the body matches the documented shape (schemathesis' conformance checks);
* data that does not fit the schema is refused with a 4xx;
* a request that succeeded with the token fails (401) without it or with a made-up one.

Path and query parameters naming objects take, some of the time, the UUIDs of real rows (a
conversation between the patient and the practice, its message and attachment, the caller's
draft and token, a template, an outreach), and so do the fields of some bodies that fit the
schema (patient, organisation, thread, practitioners, pool, category), so the routes are
exercised past the 404 and the first refusal.

The run is bounded and derandomised: the same cases every time, under a second per operation.
``CARETHREAD_FUZZ_EXAMPLES`` raises the number of cases per operation (25) for a deeper run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.world import build_world

from carethread.api import actions as api_actions
from carethread.core.models import Membership
from carethread.messaging import actions, attachments, drafts, outreach, practice_settings
from carethread.wsgi import application

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = int(os.environ.get("CARETHREAD_FUZZ_EXAMPLES", "25"))
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"

SCHEMA = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@dataclass
class Caller:
    """One identity the fuzzer calls with, the real UUIDs it can name in parameters, and the
    real values it can put in body fields."""

    token: str
    real: dict[str, str]
    body: dict[str, Any]


@pytest.fixture
def in_process_requests(settings):
    """Requests sent straight to the WSGI application share the test's connection and
    transaction: keep Django from closing that connection around each request (as its test
    client does)."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def callers(db, in_process_requests) -> dict[str, Caller]:
    world = build_world()
    Membership.objects.filter(practitioner=world.c1, organization=world.org).update(is_admin=True)
    practice, patient = world.c1.user, world.patient.user
    upload = attachments.upload_attachment(patient, filename="scan.pdf", data=PDF)
    first = actions.start_thread(
        patient,
        patient=world.patient,
        category="medical",
        subject="Dose question",
        body="Morning or evening?",
        to_practitioners=[world.c1],
        attachments=[upload.uuid],
    )
    template = practice_settings.create_template(
        practice, world.org, name="Results", body="Your results are in."
    )
    preview = outreach.preview(
        practice,
        organization=world.org,
        patients=[world.other_patient.uuid],
        category="other",
        subject="Flu shots",
        body="Flu shots are available.",
    )
    shared = {
        "thread_uuid": str(first.thread.uuid),
        "thread": str(first.thread.uuid),
        "message_uuid": str(first.uuid),
        "attachment_uuid": str(upload.uuid),
        "template_uuid": str(template.uuid),
        "outreach_uuid": str(preview.uuid),
        "org_uuid": str(world.org.uuid),
        "organization": str(world.org.uuid),
        "patient": str(world.patient.uuid),
        "category": "refill",
    }
    body = {
        "patient": str(world.patient.uuid),
        "patients": [str(world.patient.uuid), str(world.other_patient.uuid)],
        "organization": str(world.org.uuid),
        "thread": str(first.thread.uuid),
        "in_response_to": str(first.uuid),
        "assignee": str(world.c2.uuid),
        "delegate": str(world.c2.uuid),
        "pool": str(world.refills.uuid),
        "category": "medical",
        "status": "done",
        "to_pool": None,
        "on_behalf_of": None,
        "attachments": [],
    }
    result = {}
    for name, user, colleague in (
        ("practice", practice, world.c2),
        ("patient", patient, world.c1),
    ):
        _row, token = api_actions.create_token(user, "fuzz")
        spare, _raw = api_actions.create_token(user, "spare")
        draft = drafts.save_draft(user, thread=first.thread, body="Thanks,")
        real = {**shared, "token_uuid": str(spare.uuid), "draft_uuid": str(draft.uuid)}
        own = {**body, "to_practitioners": [str(colleague.uuid)]}
        result[name] = Caller(token=token, real=real, body=own)
    return result


def _real_values(parameters: Any, real: dict[str, str]) -> dict[str, str]:
    return {p.name: real[p.name] for p in parameters if p.name in real}


KINDS = ("real rows", "fitting", "not fitting")


def _cases(operation: Any, kind: str, caller: Caller) -> st.SearchStrategy:
    """Cases that fit the schema, cases that do not, or fitting cases naming real rows."""
    if kind == "not fitting":
        return operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    if kind == "fitting":
        return operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    path = _real_values(operation.path_parameters, caller.real)
    query = _real_values(operation.query, caller.real)
    return operation.as_strategy(
        generation_mode=GenerationMode.POSITIVE,
        path_parameters=path or None,
        query=query or None,
    ).map(lambda case: _name_real_rows(case, caller.body))


def _name_real_rows(case: Any, values: dict[str, Any]) -> Any:
    """Put real values in the body fields of a case that fits the schema."""
    if isinstance(case.body, dict):
        for key, value in values.items():
            if key in case.body:
                case.body[key] = value
    return case


def _check_error_is_json(response: Any) -> None:
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (response.status_code, content_type)
    body = json.loads(response.content)
    assert isinstance(body, dict) and "detail" in body, body


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_operation_never_fails_and_answers_as_documented(operation, callers):
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(who=st.sampled_from(sorted(callers)), kind=st.sampled_from(KINDS), data=st.data())
    def fuzz(who: str, kind: str, data: st.DataObject) -> None:
        caller = callers[who]
        case = data.draw(_cases(operation, kind, caller), label="case")
        headers = {"Authorization": f"Bearer {caller.token}"}
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        _check_error_is_json(response)

    fuzz()


def test_every_operation_is_fuzzed():
    """The description lists every route; none is left out of the run."""
    labels = {operation.label for operation in OPERATIONS}
    assert "GET /api/me" in labels and "POST /api/threads" in labels
    assert len(labels) == len(OPERATIONS) >= 30


# -- what the fuzzer found, pinned ---------------------------------------------------------------


@pytest.fixture
def practice_client(db):
    from django.test import Client

    world = build_world()
    _row, token = api_actions.create_token(world.c1.user, "script")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("when", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+05:00"])
def test_date_times_without_a_utc_equivalent_are_422(practice_client, when):
    response = practice_client.get("/api/threads", {"before": when})
    assert response.status_code == 422
    response = practice_client.put(
        "/api/me/out-of-office",
        {"starts_at": when, "ends_at": "9999-12-31T00:00:00Z"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "starts_at"


def test_date_times_with_offsets_past_postgresql_range_are_stored_in_utc(practice_client):
    response = practice_client.get("/api/threads", {"before": "2088-09-10T05:00:33+20:07"})
    assert response.status_code == 200
    response = practice_client.put(
        "/api/me/out-of-office",
        {"starts_at": "2088-09-10T05:00:33+20:07", "ends_at": "2088-09-11T05:00:00-18:30"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["starts_at"] == "2088-09-09T08:53:33Z"
    assert response.json()["ends_at"] == "2088-09-11T23:30:00Z"


@pytest.mark.parametrize(
    "body", ["[]", "5", '"x"', "null", "true", '{"recipients": []}', '{"recipients": 5}']
)
def test_a_body_or_an_object_in_it_that_is_not_a_json_object_is_422(practice_client, body):
    from carethread.messaging.models import Draft

    response = practice_client.post("/api/drafts", body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "value_error"
    assert not Draft.objects.exists()
