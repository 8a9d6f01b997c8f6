"""Practice users cannot switch off the authenticator app the session guards require of them:
allauth's deactivation page refuses and says why. Patients may switch theirs off."""

from __future__ import annotations

import pytest
from accounts_helpers import has_totp
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from support.reauth import freshly_signed_in

from carethread.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

DEACTIVATE = "/accounts/2fa/totp/deactivate/"


@pytest.mark.parametrize("who", ["clinician_user", "admin_user"])
def test_a_practice_user_cannot_switch_off_totp(request, who, django_capture_on_commit_callbacks):
    user = request.getfixturevalue(who)
    client = freshly_signed_in(user)
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
    client = freshly_signed_in(patient_user)
    page = client.get(DEACTIVATE)
    assert page.status_code == 200 and f'action="{DEACTIVATE}"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(DEACTIVATE)
    assert done.status_code == 302 and not has_totp(patient_user)
