"""Hostile input to every web form: NUL characters, lone surrogates, 100 kB strings and dates at
the ends of the calendar never answer 5xx, and a refused form writes nothing.

The forms are found, not listed: the pages each kind of user can open are read, and every
``<form>`` on them (its action, fields and the values the page filled in) becomes a target. A
route of the URL resolver that accepts a POST but appears in no form found here fails
``test_every_post_route_has_a_form`` until a page that holds its form is added to ``PAGES`` (or
the route to ``NOT_FORMS`` with the reason).

(The REST API has its own fuzzer: ``tests/api/test_fuzz.py``.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve, reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.reauth import freshly_signed_in
from support.world import build_world, make_admin, patient_question

from carethread.accounts import actions as accounts
from carethread.accounts import practice_users
from carethread.core.models import Membership, Practitioner
from carethread.messaging import practice_settings
from carethread.messaging.models import Thread

pytestmark = pytest.mark.django_db

# What a hostile user types (or sends with a hand-made request).
HOSTILE = [
    "\x00",
    "refill\x00please",
    "\ud800",
    "half a pair \udfff here",
    "bell\x07",
    "x" * 100_000,
    "0001-01-01",
    "9999-12-31",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "-1",
    "99999999999999999999",
    "",
]
# Parameters some views read beside their form's fields.
EXTRA_NAMES = ["before", "patient", "start", "end", "tin", "npi"]
# Random examples per form, after one example per value of ``EVERY_FIELD`` in all its fields
# and one per field with ``FAR_FUTURE`` alone.
EXAMPLES = 4
FAR_FUTURE = "9999-12-31T23:59:59-23:59"
EVERY_FIELD = ["a\x00b", "\ud800", "x" * 100_000, FAR_FUTURE, "0001-01-01"]
# Forms left out: signing out would end the session the other forms use.
SKIPPED = {"/accounts/logout/"}
# Forms that change the user for the forms after them: run last.
LAST = {"/accounts/2fa/totp/deactivate/"}

# The measure report a gap list's outreach form carries.
REPORT = {
    "program": "pi-2018",
    "start": "2025-01-01",
    "end": "2025-12-31",
    "actors": "clinician",
    "halo": "false",
    "exclude_pos": "21,23",
    "window": "period",
}
# The pages read for forms, per kind of user: a path (``{thread}``, ``{patient}`` are filled
# in), or a path and what to POST to it for the page that holds the form.
PAGES: dict[str, list[str | tuple[str, dict[str, str]]]] = {
    "anonymous": ["/accounts/login/", "/accounts/password/reset/", "/enrol"],
    # Someone who followed an invitation link (the second step of enrolment).
    "invited": ["/enrol/verify"],
    # Someone who followed a practice user's invitation link (choosing their password).
    "joining": ["/practice/join"],
    "patient": [
        "/messages/",
        "/messages/new",
        "/messages/{thread}/",
        "/account/api-tokens",
        "/account/notifications",
        "/account/representatives",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/reauthenticate/",
        "/accounts/2fa/",
        "/accounts/2fa/totp/activate/",
    ],
    "practice": [
        "/messages/",
        "/messages/new",
        "/messages/new?patient={patient}",
        "/messages/{thread}/",
        "/patients/{patient}/messages",
        # The confirmation page of a block (read first: its form, with ``confirm``, is the one
        # kept for the change route; the list's block form is the same without it).
        (
            "/practice/portal-access/change",
            {"op": "block", "kind": "patient", "target": "{patient}", "reason": "misuse"},
        ),
        "/practice/portal-access",
        "/practice/{org}/settings",
        "/practice/{org}/settings/messaging",
        "/practice/{org}/locations",
        "/practice/{org}/locations/{location}",
        "/practice/{org}/pools",
        "/practice/{org}/pools/{pool}",
        "/practice/{org}/routing",
        "/practice/{org}/templates",
        "/practice/{org}/templates/{template}",
        "/practice/{org}/people",
        "/practice/{org}/people/add",
        "/practice/{org}/people/{membership}",
        "/practice/{org}/invitations",
        "/practice/emergency-access",
        "/practice/emergency-access/report",
        "/practice/audit",
        "/practice/measures",
        "/account/api-tokens",
        ("/practice/measures/outreach", {**REPORT, "candidate": "{patient}"}),
        "/accounts/2fa/",
        "/accounts/2fa/totp/deactivate/",
        "/accounts/2fa/recovery-codes/generate/",
    ],
}
# Routes that accept a POST without being a form of ours, and why.
NOT_FORMS = {
    "home": "a page; answers any method",
    "healthz": "the health check",
    "messaging_help": "a page",
    "account_logout": "allauth's sign-out button (no fields)",
    "account_signup": "sign-up is closed: enrolment is by invitation",
    "account_inactive": "allauth's notice page",
    "account_email_verification_sent": "allauth's notice page",
    "account_confirm_email": "allauth's e-mail confirmation link",
    "account_reset_password_from_key": "needs a mailed key; its form is allauth's",
    "account_reset_password_from_key_done": "allauth's notice page",
    "account_reset_password_done": "allauth's notice page",
    "account_request_reauthentication_code": "login by code is off",
    "account_confirm_reauthentication_code": "login by code is off",
    "account_confirm_login_code": "login by code is off",
    "mfa_authenticate": "the second step of a sign-in in progress",
    "mfa_reauthenticate": "needs a sign-in with an authenticator",
    "mfa_view_recovery_codes": "a page",
    "mfa_download_recovery_codes": "a download",
    "mfa_deactivate_totp": "practice users' page refuses and holds no form (their authenticator "
    "app stays on; tests/accounts/test_mfa_kept.py)",
    "enrol_link": "an invitation link (GET); its form is enrol_verify's",
    "account_set_password": "the user has a password: it redirects to account_change_password",
    "enrolled": "a notice page",
    "measures_outreach_confirm": "the second step of an outreach (reads the stored preview)",
    "measures_outreach_cancel": "the second step of an outreach",
    "api_token_revoke": "a button whose only input is the UUID in the address",
    "representative_revoke": "a button whose only input is the UUID in the address",
    "messaging_retract": "a button whose only input is the UUIDs in the address",
    "messaging_claim": "a button with a version number",
    "emergency_access_end": "a button shown while an emergency access runs (input: its UUID)",
}


@dataclass
class Form:
    method: str
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    def names(self) -> list[str]:
        return sorted({name for name, _ in self.fields} | set(EXTRA_NAMES))


class FormReader(HTMLParser):
    """The forms of a page: method, action and each field with the value the page gave it."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[Form] = []
        self.select: str | None = None
        self.options: list[str] = []
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            # An empty action posts back to the page, query string included.
            action = a.get("action") or self.page
            self.forms.append(Form(a.get("method", "get").lower(), action))
        elif not self.forms or "name" not in a:
            return
        elif tag == "input" and a.get("type") not in ("submit", "button", "file", "image"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                self.forms[-1].fields.append((a["name"], ""))
            else:
                self.forms[-1].fields.append((a["name"], a.get("value", "on")))
        elif tag == "select":
            self.select, self.options = a["name"], []
        elif tag == "textarea":
            self.textarea = a["name"]
            self.forms[-1].fields.append((a["name"], "A hostile test"))
        if tag == "option" and self.select is not None:
            self.options.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select is not None and self.forms:
            chosen = next((o for o in self.options if o), "")
            self.forms[-1].fields.append((self.select, chosen))
            self.select = None


def route_names() -> list[tuple[str, list[str]]]:
    """Every named route outside ``/api/``, with its parameters (its prefixes' included)."""

    def walk(patterns, prefix="", params=()):
        for p in patterns:
            own = (*params, *p.pattern.regex.groupindex)
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern), own)
            elif p.name:
                yield prefix + str(p.pattern), p, list(own)

    return [
        (p.name, params)
        for route, p, params in walk(get_resolver().url_patterns)
        if not route.startswith("api/")
    ]


@pytest.fixture
def world(db):
    w = build_world()
    make_admin(w)
    Membership.objects.filter(practitioner=w.c1, organization=w.org).update(is_auditor=True)
    Membership.objects.filter(practitioner=w.c1, organization=w.org).update(emergency_access=True)
    w.thread = patient_question(w).thread
    # A member without a login (imported): their page holds the invitation form too.
    imported = Practitioner.objects.create(family_name="Imported", email="imp@example.org")
    w.imported = Membership.objects.create(practitioner=imported, organization=w.org, role="staff")
    # A template and a routing rule: their pages hold the retire and remove forms.
    w.template = practice_settings.create_template(w.c1.user, w.org, name="Labs", body="In.")
    practice_settings.set_routing_rule(w.c1.user, w.org, "refill", w.refills)
    return w


def signed_in(user) -> Client:
    """A client signed in a moment ago (allauth's re-authentication gate lets it through)."""
    return freshly_signed_in(user)


def invited(world) -> Client:
    """A client that followed an invitation link of a patient without a login."""
    _invitation, token, _code = accounts.create_invitation(world.unenrolled, send_email=False)
    client = Client()
    assert client.get(f"/enrol/{token}").status_code == 302
    return client


def joining(world) -> Client:
    """A client that followed the invitation link of a practice user without a login."""
    invitation = practice_users.invite(world.imported.practitioner, world.org, actor=None)
    client = Client()
    link = f"/practice/join/{practice_users.invitation_token(invitation)}"
    assert client.get(link).status_code == 302
    return client


def clients(world) -> dict[str, Client]:
    return {
        "anonymous": Client(),
        "invited": invited(world),
        "joining": joining(world),
        "patient": signed_in(world.patient.user),
        "practice": signed_in(world.c1.user),
    }


def url_for(name: str, names: list[str], world) -> str:
    values = {
        "thread_uuid": str(world.thread.uuid),
        "message_uuid": str(world.thread.messages.first().uuid),
        "patient_uuid": str(world.patient.uuid),
        "representative_uuid": str(world.rep.uuid),
    }
    return reverse(name, kwargs={n: values.get(n, str(uuid.uuid4())) for n in names})


def found_forms(world, users: dict[str, Client]) -> list[tuple[str, Form]]:
    fill = {
        "thread": world.thread.uuid,
        "patient": world.patient.uuid,
        "org": world.org.uuid,
        "pool": world.refills.uuid,
        "location": world.office.uuid,
        "template": world.template.uuid,
        "membership": world.imported.uuid,
    }
    forms: dict[tuple[str, str, str], Form] = {}
    for role, pages in PAGES.items():
        for page in pages:
            if isinstance(page, tuple):
                path = page[0]
                data = {key: value.format(**fill) for key, value in page[1].items()}
                response = users[role].post(path, data)
            else:
                path = page.format(**fill)
                response = users[role].get(path)
            assert response.status_code == 200, (role, path, response.status_code)
            reader = FormReader(path)
            reader.feed(response.content.decode())
            for form in reader.forms:
                if form.action.startswith("/api/") or form.action in SKIPPED:
                    continue
                forms.setdefault((role, form.method, form.action), form)
    return [
        (role, form)
        for (role, _m, action), form in sorted(
            forms.items(), key=lambda kv: (kv[0][2] in LAST, kv[0])
        )
    ]


def snapshot() -> tuple[int, ...]:
    """Row counts of every table of ours and of the logins, and the sum of thread versions (one
    query)."""
    tables = sorted(
        model._meta.db_table
        for model in apps.get_models()
        if model.__module__.startswith(("carethread.", "allauth.", "django.contrib.auth"))
    )
    # Table names of our own models, quoted: nothing from outside goes into this query.
    quote = connection.ops.quote_name
    counts = [f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables]  # noqa: S608
    counts.append(f"(SELECT COALESCE(SUM(version), 0) FROM {quote(Thread._meta.db_table)})")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(counts))
        return tuple(cursor.fetchone())


def send(client: Client, form: Form, pairs: list[tuple[str, str]]):
    encoded = urlencode(pairs, encoding="utf-8", errors="surrogatepass")
    if form.method == "post":
        return client.post(form.action, encoded, content_type="application/x-www-form-urlencoded")
    return client.get(f"{form.action}?{encoded}")


def test_every_post_route_has_a_form(world):
    """A route that takes a POST is one of the forms found on the pages, or a known exception."""
    users = clients(world)
    found = found_forms(world, users)
    targets = {resolve(urlsplit(form.action).path).url_name for _role, form in found}
    missing = []
    for name, params in route_names():
        if name in NOT_FORMS or name in targets:
            continue
        status = users["practice"].post(url_for(name, params, world)).status_code
        if status != 405:
            missing.append((name, status))
    assert missing == [], "add a page holding these forms to PAGES, or the route to NOT_FORMS"


def hostile_posts(client: Client, role: str, form: Form, failures: list[str]):
    """A property test of ``form``: a few hostile values in one to three of its fields."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        changes=st.lists(
            st.tuples(st.sampled_from(form.names()), st.sampled_from(HOSTILE)),
            min_size=1,
            max_size=3,
        )
    )
    def post_hostile(changes: list[tuple[str, str]]) -> None:
        changed = dict(changes)
        pairs = [(n, changed.pop(n, v)) for n, v in form.fields] + list(changed.items())
        before = snapshot()
        response = send(client, form, pairs)
        where = f"{role} {form.method.upper()} {form.action} {[n for n, _ in changes]}"
        if response.status_code >= 500:
            failures.append(f"{where}: {response.status_code}")
        elif response.status_code >= 400 and snapshot() != before:
            failures.append(f"{where}: refused with {response.status_code} but wrote")

    for value in EVERY_FIELD:
        post_hostile = example(changes=[(name, value) for name in form.names()])(post_hostile)
    for name in form.names():
        # One field out of range, the others as the page filled them (dates reach the queries).
        post_hostile = example(changes=[(name, FAR_FUTURE)])(post_hostile)
    return post_hostile


def test_hostile_values_in_every_form(world):
    users = clients(world)
    forms = found_forms(world, users)
    assert len(forms) >= 15
    failures: list[str] = []

    for role, form in forms:
        hostile_posts(users[role], role, form, failures)()
    assert failures == []
