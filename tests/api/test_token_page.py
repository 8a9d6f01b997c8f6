"""The /account/api-tokens page: list, create (after recent sign-in), revoke."""

from __future__ import annotations

import re

import pytest

from carethread.api import actions
from carethread.api.models import ApiToken

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-42"


def test_page_needs_sign_in(client):
    response = client.get("/account/api-tokens")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_create_needs_recent_reauthentication(client, patient_user):
    # signing in is not enough: allauth wants an explicit re-authentication within 5 minutes
    client.post("/accounts/login/", {"login": patient_user.email, "password": PASSWORD})
    response = client.post("/account/api-tokens/create", {"name": "script"})
    assert response.status_code == 302
    assert "/accounts/reauthenticate/" in response["Location"]
    assert not ApiToken.objects.exists()


def test_token_is_shown_once_after_reauthentication(client, patient_user):
    client.post("/accounts/login/", {"login": patient_user.email, "password": PASSWORD})
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    response = client.post("/account/api-tokens/create", {"name": "script"})
    assert response.status_code == 200
    shown = re.search(r'id="new-token">(ct_[A-Za-z0-9_-]+)<', response.content.decode())
    assert shown
    raw = shown.group(1)
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    page = client.get("/account/api-tokens").content.decode()
    assert raw not in page and raw[:8] in page and "script" in page


def test_revoke_from_the_page_only_own_tokens(client, patient_user, clinician_user):
    mine, _ = actions.create_token(patient_user, "mine")
    theirs, _ = actions.create_token(clinician_user, "theirs")
    client.force_login(patient_user)
    assert client.post(f"/account/api-tokens/{theirs.uuid}/revoke").status_code == 404
    response = client.post(f"/account/api-tokens/{mine.uuid}/revoke")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=mine.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


@pytest.mark.parametrize("name", ["tab\tok", "bell\x07", "escape\x1b[31m", "nul\x00"])
def test_a_token_name_with_control_characters_is_refused(client, patient_user, name):
    client.post("/accounts/login/", {"login": patient_user.email, "password": PASSWORD})
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    response = client.post("/account/api-tokens/create", {"name": name})
    if name == "tab\tok":
        assert response.status_code == 200 and ApiToken.objects.count() == 1
        return
    assert response.status_code == 400
    assert not ApiToken.objects.exists()
