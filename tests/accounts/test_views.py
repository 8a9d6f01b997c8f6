"""Enrolment pages, the portal-access page, password reset by real SMTP, and hostile input."""

from __future__ import annotations

import io
import re

import pytest
from accounts_helpers import DOB, PASSWORD, login
from django.test import Client
from support.reauth import freshly_signed_in

from carethread.accounts import actions
from carethread.accounts.models import User
from carethread.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-long-passphrase-77"


def enrol_data(**overrides):
    data = {
        "birth_date": DOB.isoformat(),
        "email": "maria.new@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


# --- enrolment -------------------------------------------------------------------------------


def test_enrol_by_link_signs_the_patient_in(client, patient):
    _inv, token, _code = actions.create_invitation(patient, send_email=False)
    response = client.get(f"/enrol/{token}")
    assert response.status_code == 302 and response["Location"] == "/enrol/verify"
    page = client.get("/enrol/verify")
    assert page.status_code == 200 and b"Riverside Family Medicine" in page.content
    done = client.post("/enrol/verify", enrol_data())
    assert done.status_code == 302 and done["Location"] == "/enrol/welcome"
    welcome = client.get("/enrol/welcome")
    assert welcome.status_code == 200 and b"two-factor" in welcome.content
    patient.refresh_from_db()
    assert patient.user.email == "maria.new@example.com"
    assert client.session["_auth_user_id"] == str(patient.user.pk)
    # Single use: the link no longer works.
    assert Client().get(f"/enrol/{token}").status_code == 404


def test_enrol_by_code(client, patient):
    _inv, _token, code = actions.create_invitation(patient, send_email=False)
    bad = client.post("/enrol", {"code": "ZZZZZ-ZZZZZ"})
    assert bad.status_code == 400 and b"not valid" in bad.content
    response = client.post("/enrol", {"code": code.lower()})
    assert response.status_code == 302 and response["Location"] == "/enrol/verify"
    assert client.post("/enrol/verify", enrol_data()).status_code == 302
    assert User.objects.filter(email="maria.new@example.com").exists()


def test_enrol_wrong_birth_date_then_locked(client, patient):
    _inv, token, _code = actions.create_invitation(patient, send_email=False)
    client.get(f"/enrol/{token}")
    for _ in range(actions.MAX_FAILED_CHECKS - 1):
        response = client.post("/enrol/verify", enrol_data(birth_date="1980-01-01"))
        assert response.status_code == 400 and b"does not match" in response.content
    locked = client.post("/enrol/verify", enrol_data(birth_date="1980-01-01"))
    assert locked.status_code == 400 and b"cannot be used" in locked.content
    assert client.post("/enrol/verify", enrol_data()).status_code == 404
    assert not User.objects.exists()


def test_enrol_without_an_invitation(client):
    assert client.get("/enrol/verify").status_code == 404
    assert client.get("/enrol/not-a-token").status_code == 404
    assert client.post("/enrol/verify", enrol_data()).status_code == 404


def test_enrol_pages_need_csrf(csrf_client, patient):
    _inv, _token, code = actions.create_invitation(patient, send_email=False)
    assert csrf_client.post("/enrol", {"code": code}).status_code == 403


# --- portal access (practice admin) ----------------------------------------------------------


def test_portal_access_page_for_the_admin_only(
    client, admin_user, clinician_user, patient_user, other_admin, patient
):
    client.force_login(admin_user)
    page = client.get("/practice/portal-access")
    assert page.status_code == 200 and patient.mrn.encode() in page.content
    for outsider in (clinician_user, patient_user):
        other = Client()
        other.force_login(outsider)
        assert other.get("/practice/portal-access").status_code == 404
    # Another practice's admin sees their own practice only.
    other = Client()
    other.force_login(other_admin)
    page = other.get("/practice/portal-access")
    assert page.status_code == 200 and patient.mrn.encode() not in page.content
    anonymous = Client().get("/practice/portal-access")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def block(client, target, kind="patient", op="block", reason="misuse", confirm=True):
    data = {"op": op, "kind": kind, "target": str(target.uuid), "reason": reason}
    if confirm:
        data["confirm"] = "1"
    return client.post("/practice/portal-access/change", data)


def test_block_asks_for_confirmation_first(client, admin_user, patient_user, patient):
    client = freshly_signed_in(admin_user)  # blocking asks for a fresh sign-in
    page = block(client, patient, confirm=False)
    assert page.status_code == 200
    body = page.content.decode()
    assert patient.display_name in body and "patient" in body
    assert "Misuse of messaging" in body and "cannot sign in" in body
    assert 'name="confirm" value="1"' in body and 'href="/practice/portal-access"' in body
    patient_user.refresh_from_db()
    assert not patient_user.is_blocked
    assert not AuditEvent.objects.filter(action="portal.blocked").exists()


def test_block_confirmation_names_a_representative(client, admin_user, representative):
    rep_user = actions.create_user("carlos@example.com", PASSWORD, representatives=[representative])
    client = freshly_signed_in(admin_user)  # blocking asks for a fresh sign-in
    body = block(client, representative, kind="representative", confirm=False).content.decode()
    assert representative.display_name in body and "representative of" in body
    rep_user.refresh_from_db()
    assert not rep_user.is_blocked


def test_block_reason_starts_empty_and_is_required(client, admin_user, patient_user, patient):
    client.force_login(admin_user)
    page = client.get("/practice/portal-access").content.decode()
    assert '<option value="" selected>Choose a reason…</option>' in page
    assert '<option value="misuse" selected' not in page
    for confirm in (False, True):
        response = block(client, patient, reason="", confirm=confirm)
        assert response.status_code == 302
    assert (
        "Choose a reason before blocking" in client.get("/practice/portal-access").content.decode()
    )
    patient_user.refresh_from_db()
    assert not patient_user.is_blocked


def test_outsiders_get_404_before_the_confirmation(
    clinician_user, other_admin, patient_user, patient
):
    for outsider in (clinician_user, other_admin, patient_user):
        other = Client()
        other.force_login(outsider)
        assert block(other, patient, confirm=False).status_code == 404


def test_admin_blocks_and_unblocks_a_patient(client, admin_user, patient_user, patient):
    client = freshly_signed_in(admin_user)  # blocking asks for a fresh sign-in
    assert client.get("/practice/portal-access/change").status_code == 405
    assert block(client, patient).status_code == 302
    patient_user.refresh_from_db()
    assert patient_user.is_blocked
    event = AuditEvent.objects.get(action="portal.blocked")
    assert event.actor_id == admin_user.pk and event.patient_id == patient.pk
    assert block(client, patient, op="unblock").status_code == 302
    patient_user.refresh_from_db()
    assert not patient_user.is_blocked


def test_admin_blocks_a_representative(client, admin_user, representative):
    rep_user = actions.create_user("carlos@example.com", PASSWORD, representatives=[representative])
    client = freshly_signed_in(admin_user)  # blocking asks for a fresh sign-in
    assert block(client, representative, kind="representative").status_code == 302
    rep_user.refresh_from_db()
    assert rep_user.is_blocked


def test_blocking_without_a_fresh_sign_in_asks_for_one_first(
    client, admin_user, patient_user, patient
):
    client.force_login(admin_user)  # signed in, but not just now
    for confirm in (False, True):
        response = block(client, patient, confirm=confirm)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/reauthenticate/")
    patient_user.refresh_from_db()
    assert not patient_user.is_blocked
    assert not AuditEvent.objects.filter(action="portal.blocked").exists()


def test_others_cannot_block(
    client, clinician_user, other_admin, patient_user, patient, csrf_client
):
    for outsider in (clinician_user, other_admin, patient_user):
        other = Client()
        other.force_login(outsider)
        assert block(other, patient).status_code == 404
    csrf_client.force_login(other_admin)
    assert block(csrf_client, patient).status_code == 403
    patient_user.refresh_from_db()
    assert not patient_user.is_blocked
    assert not AuditEvent.objects.filter(action="portal.blocked").exists()


def test_other_orgs_patient_is_404_for_an_admin(client, admin_user, other_patient):
    actions.create_user("sam@example.com", PASSWORD, patient=other_patient)
    client.force_login(admin_user)
    assert block(client, other_patient).status_code == 404


def test_admin_invites_a_patient_and_sees_the_code_once(client, admin_user, patient):
    client.force_login(admin_user)
    response = block(client, patient, op="invite")
    assert response.status_code == 200
    code = re.search(rb'id="invitation-code">([A-Z0-9-]+)<', response.content).group(1).decode()
    assert actions.find_invitation(code=code).patient == patient


def test_csrf_is_enforced_on_changes(csrf_client, admin_user, patient_user, patient):
    csrf_client.force_login(admin_user)
    assert block(csrf_client, patient).status_code == 403


# --- password reset through a real SMTP server -----------------------------------------------


def run_worker():
    from django.core.management import call_command

    call_command("worker", "--once", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_password_reset_end_to_end(client, patient_user, patient, smtp_server):
    response = client.post("/accounts/password/reset/", {"email": patient_user.email})
    assert response.status_code == 302
    run_worker()  # the mail is sent by the worker
    (message,) = smtp_server.messages
    assert message.envelope_rcpt == [patient_user.email]
    text = message.as_string()
    for phi in (patient.given_name, patient.family_name, patient.mrn, "1979"):
        assert phi not in text
    link = re.search(r"http://[^/\s]+(/accounts/password/reset/key/\S+)", message.get_content())
    assert link, "the mail holds a reset link"
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1)
    done = client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    patient_user.refresh_from_db()
    assert patient_user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(
        action="auth.password_reset", actor_id=patient_user.pk
    ).exists()
    # The link works once.
    again = Client().get(link.group(1), follow=True)
    assert b"password1" not in again.content
    assert login(Client(), patient_user.email, NEW_PASSWORD).status_code == 302


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(
    client, patient_user, smtp_server
):
    known = client.post("/accounts/password/reset/", {"email": patient_user.email}, follow=True)
    unknown = Client().post(
        "/accounts/password/reset/", {"email": "nobody-here@example.com"}, follow=True
    )
    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain
    strip = lambda html: re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)  # noqa: E731
    assert strip(known.content) == strip(unknown.content)
    run_worker()
    assert [m.envelope_rcpt for m in smtp_server.messages] == [[patient_user.email]]


@pytest.mark.django_db(transaction=True)  # the worker commits and reconnects
def test_password_reset_with_the_mail_server_down_is_not_an_error(client, patient_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    response = client.post("/accounts/password/reset/", {"email": patient_user.email})
    assert response.status_code == 302
    run_worker()  # the worker logs the failure; nothing breaks


# --- hostile input ---------------------------------------------------------------------------

GARBAGE = [
    {},
    {"login": "x" * 10_000, "password": "y" * 10_000},
    {"login": "a\x00b@example.com", "password": "p\x00w"},
    {"login": ["a@example.com", "b@example.com"], "password": ""},
    {"email": "\x00", "code": "\x00" * 50, "birth_date": "2023-02-30"},
    {"birth_date": "99999-99-99", "email": "not-an-email", "password1": "x" * 10_000},
    {"birth_date": "\x00", "password1": "short", "password2": "other"},
    {"code": "A" * 10_000, "op": "explode", "kind": "x", "target": "not-a-uuid"},
]


@pytest.mark.parametrize("data", GARBAGE)
def test_bad_input_never_errors(client, patient, admin_user, data):
    _inv, token, _code = actions.create_invitation(patient, send_email=False)
    anonymous_urls = [
        "/accounts/login/",
        "/accounts/password/reset/",
        "/enrol",
        "/accounts/password/reset/key/zz-bogus/",
    ]
    for url in anonymous_urls:
        response = client.post(url, data)
        assert response.status_code < 500, url
    client.get(f"/enrol/{token}")
    assert client.post("/enrol/verify", data).status_code in (200, 400)
    assert client.get("/enrol/" + "x" * 5000).status_code == 404
    admin = Client()
    admin.force_login(admin_user)
    assert admin.post("/practice/portal-access/change", data).status_code in (302, 400, 404)
    assert not User.objects.filter(email__startswith="not-").exists()


def test_patients_seen_at_the_practice_are_listed(client, admin_user, org, other_patient):
    from django.utils import timezone

    from carethread.core.models import Encounter

    client.force_login(admin_user)
    assert other_patient.mrn.encode() not in client.get("/practice/portal-access").content
    Encounter.objects.create(
        status="finished",
        class_code="AMB",
        patient=other_patient,
        organization=org,
        start=timezone.now(),
    )
    assert other_patient.mrn.encode() in client.get("/practice/portal-access").content
