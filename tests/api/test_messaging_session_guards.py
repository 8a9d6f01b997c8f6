"""The session guards (idle time-out, blocking, MFA for practice users) answer API requests with
JSON instead of redirecting to HTML pages, and cost no queries on a signed-in API GET."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from support.world import client_of, practitioner

from carethread.accounts import actions as accounts
from carethread.accounts import middleware
from carethread.accounts.middleware import GUARD_CACHE_KEY, LAST_ACTIVITY_KEY
from carethread.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def age_session(client, seconds):
    session = client.session
    session[LAST_ACTIVITY_KEY] -= seconds
    session.save()


def test_idle_api_session_gets_a_json_401(world, settings):
    settings.CARETHREAD_PRACTICE_IDLE_SECONDS = 15 * 60
    client = client_of(world.c1.user)
    assert client.get("/api/threads").status_code == 200
    age_session(client, 15 * 60 + 1)
    response = client.get("/api/threads")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "The session timed out. Sign in again.",
        "code": "session_timed_out",
    }
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.filter(action="auth.timeout").get()
    assert event.actor_id == world.c1.user.pk
    assert "messages" not in response.cookies  # no flash message left for a later page
    # Signed out now: the API's usual 401.
    assert client.get("/api/threads").status_code == 401


def test_idle_browser_session_is_still_redirected(world, settings):
    settings.CARETHREAD_PRACTICE_IDLE_SECONDS = 15 * 60
    client = client_of(world.c1.user)
    client.get("/")
    age_session(client, 15 * 60 + 1)
    response = client.get("/account/api-tokens")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_idle_post_to_the_api_writes_nothing(world, settings):
    settings.CARETHREAD_PATIENT_IDLE_SECONDS = 60
    client = client_of(world.patient.user)
    client.get("/api/threads")
    age_session(client, 61)
    response = client.post(
        "/api/drafts", {"patient": str(world.patient.uuid)}, content_type="application/json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "session_timed_out"
    assert not world.patient.user.message_drafts.exists()


def test_blocked_api_session_gets_a_json_401(world):
    client = client_of(world.patient.user)
    assert client.get("/api/threads").status_code == 200
    accounts.block_portal_access(world.patient.user, actor=None, reason_code="misuse")
    response = client.get("/api/threads")
    assert response.status_code == 401
    assert response.json()["code"] == "blocked"
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.logout", actor_id=world.patient.user.pk).exists()


def test_blocked_browser_session_is_still_redirected(world):
    client = client_of(world.patient.user)
    accounts.block_portal_access(world.patient.user, actor=None, reason_code="misuse")
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_practice_user_without_mfa_gets_a_json_403(world):
    newcomer = practitioner(world.org, "new@riverside.example.org", "Ng", mfa=False)
    client = client_of(newcomer.user)
    response = client.get("/api/threads")
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"
    assert "_auth_user_id" in client.session  # still signed in: they may set MFA up
    browser = client.get("/account/api-tokens")
    assert browser.status_code == 302 and browser["Location"] == "/accounts/2fa/totp/activate/"


def test_setting_up_mfa_lets_the_practice_user_in_at_once(world):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    newcomer = practitioner(world.org, "new@riverside.example.org", "Ng", mfa=False)
    client = client_of(newcomer.user)
    assert client.get("/api/threads").status_code == 403
    assert GUARD_CACHE_KEY not in client.session  # an unsettled answer is not remembered
    TOTP.activate(newcomer.user, generate_totp_secret())
    assert client.get("/api/threads").status_code == 200


def test_signed_in_api_get_pays_no_guard_queries(world, django_assert_num_queries):
    client = client_of(world.c1.user)
    client.get("/api/me")  # the first request looks the guards up and remembers them
    # session, user; then /api/me's own three (memberships, patient, representative)
    with django_assert_num_queries(5):
        response = client.get("/api/me")
    assert response.status_code == 200


def test_guard_answer_is_looked_up_again_after_it_expires(world, monkeypatch):
    client = client_of(world.c1.user)
    client.get("/api/me")
    assert client.session[GUARD_CACHE_KEY]["mfa"] is True
    Authenticator.objects.filter(user=world.c1.user).delete()
    # Within the cache period the remembered answer holds ...
    assert client.get("/api/me").status_code == 200
    # ... and once it expires, MFA is required again.
    later = middleware.now() + middleware.GUARD_CACHE_SECONDS + 1
    monkeypatch.setattr(middleware, "now", lambda: later)
    response = client.get("/api/me")
    assert response.status_code == 403 and response.json()["code"] == "mfa_required"


def test_guard_cache_belongs_to_one_user(world):
    client = client_of(world.patient.user)
    client.get("/api/me")
    assert client.session[GUARD_CACHE_KEY]["practice"] is False
    newcomer = practitioner(world.org, "new@riverside.example.org", "Ng", mfa=False)
    session = client.session
    remembered = session[GUARD_CACHE_KEY]
    client.force_login(newcomer.user)
    session = client.session
    session[GUARD_CACHE_KEY] = remembered  # another user's answer left in the session
    session.save()
    assert client.get("/api/me").status_code == 403


def test_last_activity_is_not_rewritten_on_every_request(world, monkeypatch):
    client = client_of(world.patient.user)
    client.get("/api/me")
    first = client.session[LAST_ACTIVITY_KEY]
    soon = first + middleware.ACTIVITY_WRITE_SECONDS - 1
    monkeypatch.setattr(middleware, "now", lambda: soon)
    client.get("/api/me")
    assert client.session[LAST_ACTIVITY_KEY] == first
    later = first + middleware.ACTIVITY_WRITE_SECONDS
    monkeypatch.setattr(middleware, "now", lambda: later)
    client.get("/api/me")
    assert client.session[LAST_ACTIVITY_KEY] == later
