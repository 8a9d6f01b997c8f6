"""Every answer under /api/ carries ``Cache-Control: no-store``: data, errors, refusals by the
session guards, unknown routes."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from carethread.accounts.middleware import LAST_ACTIVITY_KEY

pytestmark = pytest.mark.django_db


def no_store(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_every_get_route_of_the_openapi_description_answers_no_store(client, patient_token):
    _row, raw = patient_token
    paths = client.get("/api/openapi.json").json()["paths"]
    checked = 0
    for path, operations in paths.items():
        if "get" not in operations:
            continue
        url = "/api" + re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        for extra in (bearer(raw), {}):  # as the patient, and anonymously (401)
            response = client.get(url, **extra)
            assert response.status_code < 500, url
            assert no_store(response), (url, response.status_code)
            checked += 1
    assert checked >= 10


def test_errors_and_refusals_answer_no_store(client, patient_user, patient_token):
    _row, raw = patient_token
    responses = [
        client.get("/api/openapi.json"),
        client.get("/api/no-such-route"),
        client.get("/api/me", HTTP_AUTHORIZATION="Bearer ct_unknown-token-000000000000"),
        client.post("/api/me", **bearer(raw)),  # 405
        client.delete(f"/api/tokens/{uuid.uuid4()}", **bearer(raw)),  # 404
    ]
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(patient_user)
    responses.append(csrf.post("/api/drafts", {}, content_type="application/json"))  # 403
    timed_out = Client()
    timed_out.force_login(patient_user)
    timed_out.get("/api/me")
    session = timed_out.session
    session[LAST_ACTIVITY_KEY] -= 24 * 3600
    session.save()
    responses.append(timed_out.get("/api/me"))  # the guard's 401
    statuses = [r.status_code for r in responses]
    assert statuses == [200, 404, 401, 405, 404, 403, 401]
    assert all(no_store(r) for r in responses), [r.get("Cache-Control") for r in responses]
