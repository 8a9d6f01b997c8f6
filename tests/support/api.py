"""Calls of the JSON API through Django's test client, and the body of a new thread."""

from __future__ import annotations

from typing import Any


def post_json(client, path: str, data: Any = None, **extra):
    return client.post(path, data or {}, content_type="application/json", **extra)


def put_json(client, path: str, data: Any, **extra):
    return client.put(path, data, content_type="application/json", **extra)


def thread_body(world, **changes) -> dict[str, Any]:
    """``POST /api/threads``: the patient's medical question to c1; ``changes`` replace fields."""
    body: dict[str, Any] = {
        "patient": str(world.patient.uuid),
        "category": "medical",
        "subject": "A question",
        "body": "Is this normal?",
        "to_practitioners": [str(world.c1.uuid)],
    }
    body.update(changes)
    return body
