"""Practice users cannot switch off the authenticator app the session guards require of them:
allauth's deactivation page refuses and says why. Patients may switch theirs off."""

from __future__ import annotations

import time

import pytest
from accounts_helpers import has_totp
from allauth.account.internal.flows import login as login_flow
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from carethread.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

DEACTIVATE = "/accounts/2fa/totp/deactivate/"


def signed_in_a_moment_ago(user) -> Client:
    """A client whose sign-in is fresh enough for allauth's re-authentication gate."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[login_flow._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session[login_flow.AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "reauthenticated": True}
    ]
    session.save()
    return client


@pytest.mark.parametrize("who", ["clinician_user", "admin_user"])
def test_a_practice_user_cannot_switch_off_totp(request, who, django_capture_on_commit_callbacks):
    user = request.getfixturevalue(who)
    client = signed_in_a_moment_ago(user)
    page = client.get(DEACTIVATE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Practice users cannot switch off two-factor authentication" in html
    assert "recovery codes" in html
    assert f'action="{DEACTIVATE}"' not in html  # no button to press
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(DEACTIVATE)
    assert refused.status_code == 200
    assert "cannot switch off" in refused.content.decode()
    assert has_totp(user)
    assert not AuditEvent.objects.filter(action="mfa.disabled").exists()
    assert client.get("/").status_code == 200


def test_a_patient_may_switch_off_totp(patient_user, django_capture_on_commit_callbacks):
    TOTP.activate(patient_user, generate_totp_secret())
    client = signed_in_a_moment_ago(patient_user)
    page = client.get(DEACTIVATE)
    assert page.status_code == 200 and f'action="{DEACTIVATE}"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(DEACTIVATE)
    assert done.status_code == 302 and not has_totp(patient_user)
