"""Error answers are JSON {"detail": ...}; the OpenAPI schema lists routes and security."""

from __future__ import annotations

import json

import pytest

from carethread.api import actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(patient_user):
    _row, raw = actions.create_token(patient_user, "script")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("path", ["/api/nope", "/api/", "/api/tokens/x/y", "/api/docs"])
def test_unknown_routes_are_json_404(client, auth, path):
    response = client.get(path, **auth)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_wrong_method_is_json_405(client, auth):
    response = client.post("/api/me", **auth)
    assert response.status_code == 405
    assert response.json() == {"detail": "Method not allowed."}
    assert "GET" in response["Allow"]


def test_validation_error_is_422_without_the_submitted_value(client, auth):
    response = client.delete("/api/tokens/secret-looking-value", **auth)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail and all(set(error) <= {"type", "loc", "msg"} for error in detail)
    assert "secret-looking-value" not in response.content.decode()


def test_server_error_is_json_without_a_traceback(client, auth, monkeypatch):
    from carethread.api import routes

    def broken(user):
        raise RuntimeError("patient Maria Lopez")

    monkeypatch.setattr(routes, "caller_roles", broken)
    response = client.get("/api/me", **auth)
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error."}
    assert b"Maria" not in response.content and b"Traceback" not in response.content


def test_openapi_lists_routes_and_security_schemes(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["info"] == {
        "title": "Carethread API",
        "version": "1",
        "description": schema["info"]["description"],
    }
    assert {"/api/me", "/api/tokens", "/api/tokens/{token_uuid}"} <= set(schema["paths"])
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"} in schemes.values()
    assert any(s["type"] == "apiKey" and s["in"] == "cookie" for s in schemes.values())
    for path in schema["paths"].values():
        for operation in path.values():
            assert operation["security"], "every route requires authentication"
