"""The authorisation matrix: every route that takes an object identifier, for every role that
holds no right to the object, answers exactly as it does for a random UUID.

The routes come from the URL resolver (``django.urls.get_resolver()``, every pattern) and from
the API's OpenAPI description (``/api/openapi.json``: methods, path parameters and query
parameters of UUID format). Each must be in ``ROUTES`` (the identifiers it takes and the object
each one names) or in ``NO_IDENTIFIER``; a new route that is in neither fails the test with its
name, so it cannot ship without being put through the matrix.

Roles: an outsider patient, an expired representative, staff outside the pool, a clinician of
another practice, an administrator with no other right, and an anonymous caller. A role that a
route legitimately serves for the object (an administrator on their practice's settings, say)
is named in the route's ``entitled`` with the reason.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from support.world import build_world, make_admin, practitioner

from carethread.accounts import actions as accounts
from carethread.api import actions as api_actions
from carethread.messaging import actions, attachments, drafts, outreach, practice_settings

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ROLES = (
    "outsider patient",
    "expired representative",
    "staff outside the pool",
    "clinician of another practice",
    "admin-only",
    "anonymous",
)
PRACTICE_USERS_OF_THE_PATIENT = frozenset({"staff outside the pool", "admin-only"})


@dataclass(frozen=True)
class Route:
    """How to call one route: its identifiers (parameter -> kind of object) in the path and the
    query, the methods to try (API routes: from the OpenAPI description), a body, and the roles
    entitled to the object with the reason."""

    ids: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    methods: tuple[str, ...] = ("GET",)
    body: dict | None = None
    entitled: frozenset[str] = frozenset()
    why: str = ""
    fixed: dict[str, str] = field(default_factory=dict)  # parameters that are not identifiers


# -- the table -----------------------------------------------------------------------------------

THREAD = {"thread_uuid": "thread"}
ADMIN = frozenset({"admin-only"})
ADMIN_WHY = "administrators manage their practice's settings and templates (no PHI)"
SETTINGS_ORG = {"org_uuid": "organization"}
SETTINGS_POOL = {"org_uuid": "organization", "pool_uuid": "pool"}


def _settings(ids: dict[str, str], methods: tuple[str, ...] = ("GET", "POST")) -> Route:
    """A practice settings page (/practice/<org>/...): its administrators only."""
    return Route(ids, methods=methods, entitled=ADMIN, why=ADMIN_WHY)


PEOPLE_WHY = "administrators manage their practice's people and invitations"
ORG = {"org_uuid": "organization"}
MEMBER = {"org_uuid": "organization", "membership_uuid": "membership"}
INVITATION = {"org_uuid": "organization", "invitation_uuid": "invitation"}

ROUTES: dict[str, Route] = {
    # REST API (keys: "METHOD /api/path" as in the OpenAPI description)
    "DELETE /api/tokens/{token_uuid}": Route({"token_uuid": "token"}),
    "GET /api/threads": Route(
        {}, query={"pool": "pool", "patient": "patient", "assignee": "practitioner"}
    ),
    "GET /api/threads/{thread_uuid}": Route(THREAD),
    "POST /api/threads": Route(
        {},
        body={
            "patient": "<patient>",
            "category": "medical",
            "subject": "Hello",
            "body": "Hello",
            "to_practitioners": ["<practitioner>"],
            "to_pool": "<pool>",
            "organization": "<organization>",
            "on_behalf_of": "<practitioner>",
            "attachments": ["<attachment>"],
        },
        entitled=PRACTICE_USERS_OF_THE_PATIENT,
        why="practice users write to the patients of their practice",
    ),
    "POST /api/threads/{thread_uuid}/messages": Route(
        THREAD,
        body={
            "body": "Hello",
            "in_response_to": "<message>",
            "on_behalf_of": "<practitioner>",
            "attachments": ["<attachment>"],
        },
    ),
    "POST /api/threads/{thread_uuid}/read": Route(THREAD, body={}),
    "POST /api/messages/{message_uuid}/retract": Route({"message_uuid": "message"}, body={}),
    "GET /api/attachments/{attachment_uuid}": Route({"attachment_uuid": "attachment"}),
    "GET /api/recipients": Route(
        {},
        query={"patient": "patient"},
        entitled=PRACTICE_USERS_OF_THE_PATIENT,
        why="practice users write to the patients of their practice",
    ),
    "POST /api/drafts": Route(
        {},
        body={"thread": "<thread>", "patient": "<patient>", "body": "Hi"},
        entitled=PRACTICE_USERS_OF_THE_PATIENT,
        why="practice users write to the patients of their practice",
    ),
    "PUT /api/drafts/{draft_uuid}": Route(
        {"draft_uuid": "draft"}, body={"thread": "<thread>", "patient": "<patient>", "body": "Hi"}
    ),
    "DELETE /api/drafts/{draft_uuid}": Route({"draft_uuid": "draft"}),
    "POST /api/drafts/{draft_uuid}/send": Route({"draft_uuid": "draft"}, body={}),
    "POST /api/threads/{thread_uuid}/claim": Route(THREAD, body={}),
    "POST /api/threads/{thread_uuid}/assign": Route(THREAD, body={"assignee": "<practitioner>"}),
    "POST /api/threads/{thread_uuid}/status": Route(THREAD, body={"status": "done"}),
    "POST /api/threads/{thread_uuid}/notes": Route(THREAD, body={"body": "Called back"}),
    "GET /api/templates": Route(
        {},
        query={"organization": "organization"},
        entitled=PRACTICE_USERS_OF_THE_PATIENT,
        why="templates are the practice's boilerplate, listed to all its users",
    ),
    "POST /api/templates": Route(
        {},
        body={"organization": "<organization>", "name": "Flu", "body": "Flu shots are here."},
        entitled=ADMIN,
        why=ADMIN_WHY,
    ),
    "PATCH /api/templates/{template_uuid}": Route(
        {"template_uuid": "template"}, body={"name": "Renamed"}, entitled=ADMIN, why=ADMIN_WHY
    ),
    "DELETE /api/templates/{template_uuid}": Route(
        {"template_uuid": "template"}, entitled=ADMIN, why=ADMIN_WHY
    ),
    "GET /api/templates/{template_uuid}/render": Route(
        {"template_uuid": "template"}, query={"thread": "thread"}
    ),
    "GET /api/practices/{org_uuid}/settings": Route(
        {"org_uuid": "organization"}, entitled=ADMIN, why=ADMIN_WHY
    ),
    "PUT /api/practices/{org_uuid}/settings": Route(
        {"org_uuid": "organization"},
        body={"expected_response_hours": 48},
        entitled=ADMIN,
        why=ADMIN_WHY,
    ),
    "PUT /api/practices/{org_uuid}/routing/{category}": Route(
        {"org_uuid": "organization"},
        fixed={"category": "refill"},
        body={"pool": "<pool>"},
        entitled=ADMIN,
        why=ADMIN_WHY,
    ),
    "PUT /api/practices/{org_uuid}/pools/{pool_uuid}/response-target": Route(
        {"org_uuid": "organization", "pool_uuid": "pool"},
        body={"hours": 8},
        entitled=ADMIN,
        why=ADMIN_WHY,
    ),
    "DELETE /api/practices/{org_uuid}/routing/{category}": Route(
        {"org_uuid": "organization"}, fixed={"category": "refill"}, entitled=ADMIN, why=ADMIN_WHY
    ),
    "PUT /api/me/out-of-office": Route(
        {},
        body={
            "starts_at": "2020-01-01T00:00:00Z",
            "ends_at": "2100-01-01T00:00:00Z",
            "reply_text": "Away",
            "delegate": "<practitioner>",
        },
        entitled=PRACTICE_USERS_OF_THE_PATIENT,
        why="a practice user names a colleague as their delegate",
    ),
    "POST /api/outreach": Route(
        {},
        body={
            "organization": "<organization>",
            "patients": ["<patient>"],
            "category": "other",
            "subject": "Flu shots",
            "body": "Flu shots are here.",
            "on_behalf_of": "<practitioner>",
        },
        entitled=PRACTICE_USERS_OF_THE_PATIENT,
        why="practice users write to the patients of their practice",
    ),
    "POST /api/outreach/{outreach_uuid}/confirm": Route({"outreach_uuid": "outreach"}, body={}),
    "POST /api/outreach/{outreach_uuid}/cancel": Route({"outreach_uuid": "outreach"}, body={}),
    # Pages (keys: the resolver's pattern)
    "account/representatives/<uuid:representative_uuid>/revoke": Route(
        {"representative_uuid": "representative"}, methods=("GET", "POST")
    ),
    "account/api-tokens/<uuid:token_uuid>/revoke": Route(
        {"token_uuid": "token"}, methods=("GET", "POST")
    ),
    "messages/": Route(
        {},
        query={"patient": "patient", "pool": "pool"},
        entitled=PRACTICE_USERS_OF_THE_PATIENT,
        why="practice users may filter their inbox by a patient of their practice",
    ),
    "messages/new": Route(
        {},
        query={"patient": "patient"},
        entitled=PRACTICE_USERS_OF_THE_PATIENT,
        why="practice users write to the patients of their practice",
    ),
    "messages/attachments/<str:attachment_uuid>": Route({"attachment_uuid": "attachment"}),
    "messages/<str:thread_uuid>/": Route(THREAD),
    "messages/<str:thread_uuid>/reply": Route(THREAD, methods=("GET", "POST")),
    "messages/<str:thread_uuid>/messages/<str:message_uuid>/retract": Route(
        {"thread_uuid": "thread", "message_uuid": "message"}, methods=("GET", "POST")
    ),
    "messages/<str:thread_uuid>/claim": Route(THREAD, methods=("GET", "POST")),
    "messages/<str:thread_uuid>/assign": Route(THREAD, methods=("GET", "POST")),
    "messages/<str:thread_uuid>/status": Route(THREAD, methods=("GET", "POST")),
    "messages/<str:thread_uuid>/notes": Route(THREAD, methods=("GET", "POST")),
    "patients/<str:patient_uuid>/messages": Route(
        {"patient_uuid": "patient"},
        entitled=PRACTICE_USERS_OF_THE_PATIENT,
        why="practice users open the page of a patient of their practice (threads through the "
        "gate)",
    ),
    "practice/<uuid:org_uuid>/people": Route(ORG, entitled=ADMIN, why=PEOPLE_WHY),
    "practice/<uuid:org_uuid>/people/add": Route(
        ORG, methods=("GET", "POST"), entitled=ADMIN, why=PEOPLE_WHY
    ),
    "practice/<uuid:org_uuid>/people/<uuid:membership_uuid>": Route(
        MEMBER, entitled=ADMIN, why=PEOPLE_WHY
    ),
    "practice/<uuid:org_uuid>/people/<uuid:membership_uuid>/rights": Route(
        MEMBER, methods=("POST",), entitled=ADMIN, why=PEOPLE_WHY
    ),
    "practice/<uuid:org_uuid>/people/<uuid:membership_uuid>/active": Route(
        MEMBER, methods=("POST",), entitled=ADMIN, why=PEOPLE_WHY
    ),
    "practice/<uuid:org_uuid>/people/<uuid:membership_uuid>/invite": Route(
        MEMBER, methods=("POST",), entitled=ADMIN, why=PEOPLE_WHY
    ),
    "practice/<uuid:org_uuid>/invitations": Route(ORG, entitled=ADMIN, why=PEOPLE_WHY),
    "practice/<uuid:org_uuid>/invitations/<uuid:invitation_uuid>/resend": Route(
        INVITATION, methods=("POST",), entitled=ADMIN, why=PEOPLE_WHY
    ),
    "practice/<uuid:org_uuid>/invitations/<uuid:invitation_uuid>/revoke": Route(
        INVITATION, methods=("POST",), entitled=ADMIN, why=PEOPLE_WHY
    ),
    "practice/<uuid:org_uuid>/settings": _settings(SETTINGS_ORG),
    "practice/<uuid:org_uuid>/settings/messaging": _settings(SETTINGS_ORG),
    "practice/<uuid:org_uuid>/locations": _settings(SETTINGS_ORG),
    "practice/<uuid:org_uuid>/locations/<uuid:location_uuid>": _settings(
        {**SETTINGS_ORG, "location_uuid": "location"}
    ),
    "practice/<uuid:org_uuid>/pools": _settings(SETTINGS_ORG),
    "practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>": _settings(SETTINGS_POOL),
    "practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>/target": _settings(SETTINGS_POOL, ("POST",)),
    "practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>/members": _settings(SETTINGS_POOL, ("POST",)),
    "practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>/members/remove": _settings(
        SETTINGS_POOL, ("POST",)
    ),
    "practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>/deactivate": _settings(
        SETTINGS_POOL, ("POST",)
    ),
    "practice/<uuid:org_uuid>/routing": _settings(SETTINGS_ORG),
    "practice/<uuid:org_uuid>/routing/remove": _settings(SETTINGS_ORG, ("POST",)),
    "practice/<uuid:org_uuid>/templates": _settings(SETTINGS_ORG),
    "practice/<uuid:org_uuid>/templates/<uuid:template_uuid>": _settings(
        {**SETTINGS_ORG, "template_uuid": "template"}
    ),
    "practice/<uuid:org_uuid>/templates/<uuid:template_uuid>/retire": _settings(
        {**SETTINGS_ORG, "template_uuid": "template"}, ("POST",)
    ),
    "practice/measures/outreach/<str:outreach_uuid>/confirm": Route(
        {"outreach_uuid": "outreach"}, methods=("GET", "POST")
    ),
    "practice/measures/outreach/<str:outreach_uuid>/cancel": Route(
        {"outreach_uuid": "outreach"}, methods=("GET", "POST")
    ),
}

# Routes with no object identifier in the URL (lists of the caller's own things, forms, sign-in
# flows), and routes whose identifier is itself the credential (a link sent by email: whoever
# holds it may use it, whoever they are signed in as).
NO_IDENTIFIER = {
    "",
    "healthz",
    "enrol",
    "enrol/verify",
    "enrol/welcome",
    "practice/portal-access",
    "practice/portal-access/change",
    "account/representatives",
    "account/api-tokens",
    "account/api-tokens/create",
    "account/notifications",
    "messages/find-patient",
    "help/messaging",
    "practice/",
    "practice/notifications",
    "practice/settings",
    "practice/join",
    "practice/emergency-access",
    "practice/emergency-access/end",
    "practice/emergency-access/report",
    "practice/audit",
    "practice/audit/export",
    "practice/audit/verify",
    "practice/measures",
    "practice/measures/patients",
    "practice/measures/trend",
    "practice/measures/outreach",
    "GET /api/me",
    "GET /api/tokens",
    "POST /api/attachments",
    "GET /api/drafts",
    "GET /api/me/out-of-office",
    "DELETE /api/me/out-of-office",
    "GET /api/me/notifications",
    "PUT /api/me/notifications",
    "GET /api/measures/report",
    "POST /api/measures/report",
}
CREDENTIAL_IN_URL = {
    "enrol/<str:token>",
    "practice/join/<str:token>",
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$",
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
}
# django-allauth's own pages (sign-in, password, MFA): no object identifier.
ALLAUTH_PREFIX = "accounts/"
API_PREFIX = "api/"
API_NOT_IN_SCHEMA = {"api/", "api/openapi.json"}  # ninja's root and the schema itself

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


# -- the routes, as the project declares them ------------------------------------------------


def resolver_patterns() -> list[str]:
    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    return sorted(set(walk(get_resolver().url_patterns)))


def _is_uuid(schema: dict) -> bool:
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    return any(option.get("format") == "uuid" for option in options)


def _body_identifiers(schema: dict, components: dict) -> set[str]:
    """The JSON body's fields that hold UUIDs (alone or in a list)."""

    def deref(node: dict) -> dict:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[-1]]
        return node

    def holds_uuid(node: dict) -> bool:
        node = deref(node)
        options = [node, *node.get("anyOf", []), *node.get("oneOf", [])]
        return any(
            _is_uuid(deref(o)) or (deref(o).get("type") == "array" and holds_uuid(o["items"]))
            for o in options
        )

    properties = deref(schema).get("properties", {})
    return {name for name, node in properties.items() if holds_uuid(node)}


def openapi_operations(schema: dict) -> dict[str, dict[str, set[str]]]:
    """ "METHOD /api/path" -> {"path": parameters, "query": UUID query parameters, "body": UUID
    fields of the JSON body}."""
    components = schema.get("components", {}).get("schemas", {})
    operations = {}
    for path, items in schema["paths"].items():
        for method, operation in items.items():
            params = operation.get("parameters", [])
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            operations[f"{method.upper()} {path}"] = {
                "path": {p["name"] for p in params if p["in"] == "path"},
                "query": {
                    p["name"] for p in params if p["in"] == "query" and _is_uuid(p["schema"])
                },
                "body": _body_identifiers(body, components) if body else set(),
            }
    return operations


def _placeholders(route: Route) -> set[str]:
    """Body fields the route fills with an object's identifier ("<kind>" or ["<kind>"])."""
    filled = set()
    for name, value in (route.body or {}).items():
        values = value if isinstance(value, list) else [value]
        if values and all(isinstance(v, str) and v.startswith("<") for v in values):
            filled.add(name)
    return filled


def test_every_route_is_in_the_matrix(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    operations = openapi_operations(response.json())
    problems = []
    api_paths = {key.split(" ", 1)[1] for key in operations}
    for pattern in resolver_patterns():
        if pattern.startswith(API_PREFIX):
            as_path = "/" + PARAMETER.sub(lambda m: "{" + (m[1] or m[2]) + "}", pattern)
            if pattern not in API_NOT_IN_SCHEMA and as_path not in api_paths:
                problems.append(f"{pattern}: an API route missing from the OpenAPI description")
            continue
        if pattern in CREDENTIAL_IN_URL:
            continue
        if pattern.startswith(ALLAUTH_PREFIX) and not PARAMETER.search(pattern):
            continue
        if pattern in NO_IDENTIFIER:
            if PARAMETER.search(pattern):
                problems.append(f"{pattern}: takes an identifier; put it in ROUTES")
            continue
        route = ROUTES.get(pattern)
        if route is None:
            problems.append(f"{pattern}: a new route; put it in the authorisation matrix")
            continue
        params = {m[1] or m[2] for m in PARAMETER.finditer(pattern)}
        if params != set(route.ids) | set(route.fixed):
            problems.append(f"{pattern}: takes {sorted(params)}, the matrix fills {route.ids}")
    for key, params in sorted(operations.items()):
        if key in NO_IDENTIFIER:
            if params["path"] or params["query"] or params["body"]:
                problems.append(f"{key}: takes an identifier; put it in ROUTES")
            continue
        route = ROUTES.get(key)
        if route is None:
            problems.append(f"{key}: a new route; put it in the authorisation matrix")
            continue
        if params["path"] != set(route.ids) | set(route.fixed):
            problems.append(f"{key}: path takes {sorted(params['path'])}, matrix {route.ids}")
        if not params["query"] <= set(route.query):
            problems.append(f"{key}: query identifiers {sorted(params['query'])} not all filled")
        if not params["body"] <= _placeholders(route):
            problems.append(f"{key}: body identifiers {sorted(params['body'])} not all filled")
    assert not problems, "\n".join(problems)


# -- the world: one object of each kind that none of the roles may reach ----------------------


@pytest.fixture
def scene(db):
    w = build_world()
    w.admin_only = practitioner(w.org, "admin@riverside.example.org", "Adams", role="staff")
    make_admin(w, w.admin_only)
    upload = attachments.upload_attachment(w.patient.user, filename="rash.png", data=PNG)
    first = actions.start_thread(
        w.patient.user,
        patient=w.patient,
        category="refill",
        subject="Refill for lisinopril",
        body="Three tablets left.",
        to_pool=w.refills,
        attachments=[upload.uuid],
    )
    draft = drafts.save_draft(w.patient.user, patient=w.patient, subject="Draft", body="Later")
    template = practice_settings.create_template(
        w.admin_only.user, w.org, name="Labs", body="Your labs are in."
    )
    planned = outreach.preview(
        w.c1.user,
        organization=w.org,
        patients=[w.patient],
        category="other",
        subject="Flu shots",
        body="Flu shots are here.",
    )
    token, _raw = api_actions.create_token(w.c1.user, "script")
    invitation, _token, _code = accounts.create_invitation(w.unenrolled, send_email=False)
    objects = {
        "thread": first.thread.uuid,
        "message": first.uuid,
        "attachment": upload.uuid,
        "draft": draft.uuid,
        "template": template.uuid,
        "outreach": planned.uuid,
        "token": token.uuid,
        "patient": w.patient.uuid,
        "representative": w.rep.uuid,
        "organization": w.org.uuid,
        "pool": w.refills.uuid,
        "location": w.office.uuid,
        "practitioner": w.c1.uuid,
        "membership": w.c2.memberships.get(organization=w.org).uuid,
        "invitation": invitation.uuid,
    }
    users = {
        "outsider patient": w.other_patient.user,
        "expired representative": w.expired_rep.user,
        "staff outside the pool": w.staff2.user,
        "clinician of another practice": w.outsider.user,
        "admin-only": w.admin_only.user,
        "anonymous": None,
    }
    return SimpleNamespace(world=w, objects=objects, users=users)


def _clients(user) -> tuple[Client, Client]:
    """(API client, page client) for ``user`` (a personal token for the API; a session for
    pages), or two signed-out clients."""
    if user is None:
        return Client(raise_request_exception=False), Client(raise_request_exception=False)
    _row, raw = api_actions.create_token(user, "matrix")
    page = Client(raise_request_exception=False)
    page.force_login(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", raise_request_exception=False), page


def _url(key: str, route: Route, values: dict[str, str]) -> tuple[str, str | None, dict]:
    """(path, method from the key or None, query) with the identifiers filled in."""
    method = None
    path = key
    if " " in key:
        method, path = key.split(" ", 1)
        for name, kind in route.ids.items():
            path = path.replace("{" + name + "}", values[kind])
        for name, value in route.fixed.items():
            path = path.replace("{" + name + "}", value)
    else:
        for name, kind in route.ids.items():
            path = re.sub(r"<(?:\w+:)?" + name + ">", values[kind], path)
        path = "/" + path
    query = {name: values[kind] for name, kind in route.query.items()}
    return path, method, query


def _answer(response, values: dict[str, str]) -> tuple:
    """What the caller learns: the status, where a redirect goes, and the body's shape (JSON:
    the whole error body, or the keys of a success; a page: its text for an error status), with
    the identifiers of the request replaced."""

    def plain(text: str) -> str:
        for value in values.values():
            text = text.replace(value, "<id>")
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
        return re.sub(r'<meta name="csrf-token" content="[^"]*"', "", text)

    location = plain(response.get("Location", ""))
    content_type = response.get("Content-Type", "")
    if content_type.startswith("application/json"):
        body = json.loads(plain(response.content.decode()))
        shape = body if response.status_code >= 400 else _keys(body)
        return response.status_code, location, json.dumps(shape, sort_keys=True)
    if response.status_code >= 400 and not getattr(response, "streaming", False):
        return response.status_code, location, plain(response.content.decode())
    return response.status_code, location, content_type


def _keys(body) -> object:
    if isinstance(body, dict):
        return {k: _keys(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_keys(body[0])] if body else []
    return type(body).__name__


def _call(client: Client, method: str, path: str, query: dict, body: dict | None, values: dict):
    if method == "GET":
        return client.get(path, query)
    if query:
        path = f"{path}?{'&'.join(f'{k}={v}' for k, v in query.items())}"
    if path.startswith("/api/"):
        payload = json.dumps(body or {})
        for kind, value in values.items():
            payload = payload.replace(f'"<{kind}>"', f'"{value}"')
        return client.generic(method, path, payload, content_type="application/json")
    return client.generic(method, path, "", content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_answer_of_a_random_uuid(scene, role):
    real = {kind: str(value) for kind, value in scene.objects.items()}
    api, page = _clients(scene.users[role])
    differences = []
    for key, route in ROUTES.items():
        if role in route.entitled:
            assert route.why, f"{key}: say why {role} is entitled"
            continue
        for method in route.methods:
            answers = []
            for values in (real, {kind: str(uuid.uuid4()) for kind in real}):
                path, key_method, query = _url(key, route, values)
                client = api if path.startswith("/api/") else page
                response = _call(client, key_method or method, path, query, route.body, values)
                assert response.status_code < 500, (key, role, response.status_code)
                answers.append(_answer(response, values))
            if answers[0] != answers[1]:
                label = key if key_method else f"{method} {key}"
                differences.append(f"{label}: {answers[0][:2]} vs random {answers[1][:2]}")
    assert not differences, f"{role}:\n" + "\n".join(differences)
