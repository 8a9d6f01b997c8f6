"""``If-Match``: one reading for every route that takes it (docs/api.md, "Headers").

The table is read by ``preconditions.expected_version`` directly, then sent to a reply (messaging)
and to a claim (triage): both answer the same, and a refused value writes nothing.
"""

from __future__ import annotations

import pytest
from support.world import client_of

from carethread.api import preconditions
from carethread.audit.models import AuditEvent
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Message, Thread

ACCEPTED = [
    (None, None),
    ("*", None),
    (" * ", None),
    ("3", 3),
    ('"3"', 3),
    ('W/"3"', 3),
    (" 3 ", 3),
    ('\t"3"\t', 3),
    ("007", 7),
    ('"999999999"', 999_999_999),
]

REFUSED = [
    "",
    "   ",
    '"3',
    '3"',
    '""',
    "W/3",
    'W/""',
    'w/"3"',
    'W/ "3"',
    '"3", "4"',
    "3, 4",
    '"3"x',
    "-3",
    "+3",
    "1.5",
    "abc",
    "W/x",
    "1234567890",
    '"1234567890"',
    "\u0663",  # ARABIC-INDIC DIGIT THREE
    "\u00b2",  # SUPERSCRIPT TWO
    "**",
]


@pytest.mark.parametrize(("value", "version"), ACCEPTED)
def test_accepted_forms(value, version):
    assert preconditions.expected_version(value) == version


@pytest.mark.parametrize("value", REFUSED)
def test_refused_forms_are_bad_request(value):
    with pytest.raises(MessagingError) as refused:
        preconditions.expected_version(value)
    assert refused.value.code == "bad_request"
    assert refused.value.status == 400


def test_the_openapi_description_says_what_is_accepted():
    from carethread.api.api import api

    schema = api.get_openapi_schema()
    routes = [
        ("/api/threads/{thread_uuid}/messages", "post"),
        ("/api/drafts/{draft_uuid}", "put"),
        ("/api/threads/{thread_uuid}/claim", "post"),
        ("/api/threads/{thread_uuid}/assign", "post"),
        ("/api/threads/{thread_uuid}/status", "post"),
    ]
    for path, method in routes:
        parameters = schema["paths"][path][method]["parameters"]
        header = next(p for p in parameters if p["name"] == "If-Match")
        assert header["in"] == "header" and not header.get("required", False)
        assert header["description"] == preconditions.DESCRIPTION, path


# -- through the routes (c1's client and the patient's question to c1: tests/conftest.py) ---------


def reply(client, thread, value):
    return client.post(
        f"/api/threads/{thread.uuid}/messages",
        {"body": "Evening."},
        content_type="application/json",
        HTTP_IF_MATCH=value,
    )


def claim(client, thread, value):
    return client.post(
        f"/api/threads/{thread.uuid}/claim",
        {},
        content_type="application/json",
        HTTP_IF_MATCH=value,
    )


ROUTES = {"reply": reply, "claim": claim}


def written():
    return (
        Message.objects.count(),
        AuditEvent.objects.count(),
        list(Thread.objects.order_by("pk").values_list("version", "assignee_id")),
    )


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("value", REFUSED)
def test_a_refused_value_is_400_on_both_routes_and_writes_nothing(
    clinician_client, thread, route, value
):
    before = written()
    response = ROUTES[route](clinician_client, thread, value)
    assert response.status_code == 400, (route, value, response.content)
    assert response.json()["code"] == "bad_request"
    assert written() == before


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("form", ["{v}", '"{v}"', 'W/"{v}"', "*"])
def test_the_current_version_in_each_form_is_accepted_on_both_routes(
    clinician_client, thread, route, form
):
    version = Thread.objects.get(pk=thread.pk).version
    response = ROUTES[route](clinician_client, thread, form.format(v=version))
    assert response.status_code in (200, 201), (route, form, response.content)


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("form", ["{v}", '"{v}"', 'W/"{v}"'])
def test_an_old_version_in_each_form_is_409_stale_on_both_routes(
    clinician_client, thread, route, form
):
    old = Thread.objects.get(pk=thread.pk).version - 1
    before = written()
    response = ROUTES[route](clinician_client, thread, form.format(v=old))
    assert response.status_code == 409, (route, form, response.content)
    assert response.json()["code"] == "stale"
    assert written() == before


def test_a_malformed_value_on_a_thread_the_caller_may_not_see_is_the_gates_404(world, thread):
    outsider = client_of(world.outsider.user)
    for route in ROUTES.values():
        assert route(outsider, thread, "").status_code == 404
