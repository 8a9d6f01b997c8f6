"""Sign-in: MFA for practice users, throttling, no enumeration, time-out, blocking, audit."""

from __future__ import annotations

import pytest
from accounts_helpers import PASSWORD, has_totp, login, secret_from_page, totp_code
from django.test import Client

from carethread.accounts import actions
from carethread.accounts.middleware import LAST_ACTIVITY_KEY
from carethread.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

GENERIC = "The email address and/or password you specified are not correct."
THROTTLED = "Too many failed login attempts"


def last_event(action):
    return AuditEvent.objects.filter(action=action).order_by("-seq").first()


def test_patient_signs_in_and_is_not_forced_into_mfa(client, patient_user):
    response = login(client, patient_user.email)
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert not has_totp(patient_user)
    event = last_event("auth.login")
    assert event.actor_id == patient_user.pk and event.actor_role == "patient"


def test_practice_user_is_taken_through_totp_enrolment(
    client, new_clinician, django_capture_on_commit_callbacks
):
    response = login(client, new_clinician.email)
    assert response.status_code == 302
    # Every page sends the practice user to the authenticator set-up until it is done.
    home = client.get("/")
    assert home.status_code == 302 and home["Location"] == "/accounts/2fa/totp/activate/"
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = secret_from_page(page.content.decode())
    wrong = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert wrong.status_code == 200 and not has_totp(new_clinician)
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        done = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert done.status_code == 302 and done["Location"] == "/accounts/2fa/recovery-codes/"
    codes_page = client.get(done["Location"])
    assert codes_page.status_code == 200
    assert b'id="continue"' in codes_page.content
    assert has_totp(new_clinician)
    assert client.get("/").status_code == 200
    assert last_event("mfa.enabled").actor_id == new_clinician.pk
    assert last_event("mfa.recovery_codes_generated").actor_id == new_clinician.pk


def test_practice_user_with_mfa_needs_the_code_at_sign_in(client, clinician_user):
    response = login(client, clinician_user.email)
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    # Not signed in until the code is given.
    assert client.get("/")["Location"].startswith("/accounts/login/")
    bad = client.post("/accounts/2fa/authenticate/", {"code": "123456"})
    assert bad.status_code == 200
    failure = last_event("auth.login_failed")
    assert failure.actor_id == clinician_user.pk and failure.details == {"reason": "mfa_code"}


def test_failed_sign_in_is_audited_without_the_typed_email(client, patient_user):
    response = login(client, patient_user.email, "wrong-password-123")
    assert response.status_code == 200
    assert GENERIC in response.content.decode()
    event = last_event("auth.login_failed")
    assert event.outcome == "failure" and event.actor_id == patient_user.pk
    assert event.details == {"reason": "credentials"}
    login(client, "nobody-here@example.com", "wrong-password-123")
    event = last_event("auth.login_failed")
    assert event.actor_id is None and "nobody" not in str(event.details)


def test_unknown_account_and_wrong_password_look_the_same(client, patient_user):
    unknown = login(client, "nobody-here@example.com", "wrong-password-123")
    wrong = login(client, patient_user.email, "wrong-password-123")
    assert unknown.status_code == wrong.status_code == 200
    assert GENERIC in unknown.content.decode() and GENERIC in wrong.content.decode()


def test_throttled_per_account_from_one_address_even_with_the_right_password(client, patient_user):
    for _ in range(5):
        login(client, patient_user.email, "wrong-password-123", REMOTE_ADDR="10.0.0.1")
    # From that address, with the right password: refused, with a generic message.
    response = login(Client(), patient_user.email, PASSWORD, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 200
    assert THROTTLED in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
    assert last_event("auth.login_failed").details == {"reason": "throttled"}
    # An unknown address is throttled the same way (no enumeration by throttling).
    for _ in range(5):
        login(client, "nobody-here@example.com", "x-wrong-123", REMOTE_ADDR="10.0.0.3")
    unknown = login(client, "nobody-here@example.com", "x-wrong-123", REMOTE_ADDR="10.0.0.3")
    assert THROTTLED in unknown.content.decode()


def test_throttled_per_address(client, patient_user):
    for number in range(10):
        login(client, f"guess{number}@example.com", "wrong-password-123", REMOTE_ADDR="10.9.9.9")
    response = login(client, patient_user.email, PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert THROTTLED in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    ok = login(Client(), patient_user.email, PASSWORD, REMOTE_ADDR="10.9.9.10")
    assert ok.status_code == 302


def test_idle_time_out_signs_out_audits_and_resumes(client, clinician_user, settings):
    settings.CARETHREAD_PRACTICE_IDLE_SECONDS = 15 * 60
    client.force_login(clinician_user)
    assert client.get("/").status_code == 200
    session = client.session
    session[LAST_ACTIVITY_KEY] -= 15 * 60 + 1
    session.save()
    response = client.get("/accounts/2fa/?tab=1")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Faccounts%2F2fa%2F%3Ftab%3D1"
    assert "_auth_user_id" not in client.session
    event = last_event("auth.timeout")
    assert event.actor_id == clinician_user.pk and event.details == {"idle_limit_seconds": 900}
    assert last_event("auth.logout") is None
    page = client.get(response["Location"])
    assert b"inactivity" in page.content


def test_activity_within_the_limit_keeps_the_session(client, patient_user, settings):
    settings.CARETHREAD_PATIENT_IDLE_SECONDS = 30 * 60
    client.force_login(patient_user)
    client.get("/")
    session = client.session
    session[LAST_ACTIVITY_KEY] -= 20 * 60  # a practice user would be out; a patient is not
    session.save()
    assert client.get("/").status_code == 200
    assert last_event("auth.timeout") is None


def test_resume_after_time_out_goes_back_to_the_page(client, patient_user):
    response = client.post(
        "/accounts/login/?next=/accounts/2fa/",
        {"login": patient_user.email, "password": PASSWORD, "next": "/accounts/2fa/"},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"


def test_blocked_user_cannot_sign_in(client, patient_user, admin_user):
    actions.block_portal_access(patient_user, actor=admin_user, reason_code="misuse")
    response = login(client, patient_user.email)
    assert response.status_code == 403
    assert b"blocked" in response.content
    assert "_auth_user_id" not in client.session
    assert last_event("auth.login_failed").details == {"reason": "blocked"}
    assert client.get("/").status_code == 302


def test_blocking_ends_an_existing_session(client, patient_user, admin_user):
    login(client, patient_user.email)
    assert client.get("/").status_code == 200
    actions.block_portal_access(patient_user, actor=admin_user, reason_code="security")
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    event = last_event("auth.logout")
    assert event.actor_id == patient_user.pk and event.details == {"reason": "blocked"}


def test_sign_out_is_audited(client, patient_user):
    login(client, patient_user.email)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert last_event("auth.logout").actor_id == patient_user.pk


def test_reauthentication_is_audited(client, patient_user):
    login(client, patient_user.email)
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302
    assert last_event("auth.reauthenticated").actor_id == patient_user.pk


def test_the_blocked_page_names_the_practice_to_call(client, patient_user, admin_user, org):
    org.phone = "(555) 010-2000"
    org.save(update_fields=["phone"])
    actions.block_portal_access(patient_user, actor=admin_user, reason_code="misuse")
    page = login(client, patient_user.email).content.decode()
    assert org.name in page and 'href="tel:(555) 010-2000"' in page
    org.phone = ""
    org.save(update_fields=["phone"])
    page = login(client, patient_user.email).content.decode()
    assert org.name in page and "tel:" not in page
