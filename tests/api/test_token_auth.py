"""Personal API tokens: stored hashed, audited, refused when revoked, expired or blocked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from carethread.api import actions, tokens
from carethread.api.models import ApiToken
from carethread.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_token_is_stored_hashed_and_creation_is_audited(patient_user):
    row, raw = actions.create_token(patient_user, "script")
    assert raw.startswith("ct_") and len(raw) > 40
    assert row.prefix == raw[:8]
    assert row.token_hash == tokens.token_hash(raw) != raw
    stored = ApiToken.objects.values_list("token_hash", "prefix", "name").get()
    assert raw not in "".join(stored)
    event = AuditEvent.objects.get(action="api.token_created")
    assert event.actor_id == patient_user.pk
    assert event.object_id == str(row.uuid)
    assert raw not in str(event.details) and row.prefix not in str(event.details)


def test_a_token_authenticates(client, patient_user, patient_token):
    _row, raw = patient_token
    response = client.get("/api/me", **bearer(raw))
    assert response.status_code == 200
    assert response.json()["uuid"] == str(patient_user.uuid)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer ct_not-a-real-token-0000000000", "Bearer nonsense", "Basic dXNlcjpwYXNz"],
)
def test_anonymous_or_unknown_token_gets_401_json(client, patient_token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/me", **extra)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"detail"}


def test_revoked_token_is_refused(client, patient_user, patient_token):
    row, raw = patient_token
    assert actions.revoke_token(row, actor=patient_user) is True
    assert client.get("/api/me", **bearer(raw)).status_code == 401
    assert actions.revoke_token(row, actor=patient_user) is False  # no second audit entry
    assert AuditEvent.objects.filter(action="api.token_revoked").count() == 1


def test_expired_token_is_refused(client, patient_user):
    row, raw = actions.create_token(
        patient_user, "short", expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert client.get("/api/me", **bearer(raw)).status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get("/api/me", **bearer(raw)).status_code == 401


def test_expiry_in_the_past_is_refused(patient_user):
    with pytest.raises(actions.TokenError) as refused:
        actions.create_token(patient_user, "x", expires_at=timezone.now())
    assert refused.value.code == "expires_at"


@pytest.mark.parametrize("field,value", [("blocked_at", "now"), ("is_active", False)])
def test_blocked_or_inactive_user_is_refused(client, patient_user, patient_token, field, value):
    _row, raw = patient_token
    get_user_model().objects.filter(pk=patient_user.pk).update(
        **{field: timezone.now() if value == "now" else value}
    )
    assert client.get("/api/me", **bearer(raw)).status_code == 401
    patient_user.refresh_from_db()
    with pytest.raises(actions.TokenError) as refused:
        actions.create_token(patient_user, "again")
    assert refused.value.code == "not_allowed"


def test_practice_user_needs_mfa_for_a_token(new_clinician, clinician_user):
    with pytest.raises(actions.TokenError) as refused:
        actions.create_token(new_clinician, "script")
    assert refused.value.code == "mfa_required"
    assert not ApiToken.objects.filter(user=new_clinician).exists()
    row, _raw = actions.create_token(clinician_user, "script")
    assert row.user == clinician_user


def test_last_used_is_written_at_most_once_a_minute(client, patient_token):
    row, raw = patient_token
    client.get("/api/me", **bearer(raw))
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert first is not None
    client.get("/api/me", **bearer(raw))
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first
    earlier = timezone.now() - dt.timedelta(minutes=2)
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=earlier)
    client.get("/api/me", **bearer(raw))
    assert ApiToken.objects.get(pk=row.pk).last_used_at > earlier


def test_list_and_revoke_own_tokens_over_the_api(
    client, patient_user, patient_token, clinician_user
):
    row, raw = patient_token
    other, _ = actions.create_token(clinician_user, "theirs")
    listed = client.get("/api/tokens", **bearer(raw)).json()
    assert [t["uuid"] for t in listed] == [str(row.uuid)]
    assert "token_hash" not in listed[0]

    response = client.delete(f"/api/tokens/{other.uuid}", **bearer(raw))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert ApiToken.objects.get(pk=other.pk).revoked_at is None

    response = client.delete(f"/api/tokens/{row.uuid}", **bearer(raw))
    assert response.status_code == 204
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None
    event = AuditEvent.objects.get(action="api.token_revoked")
    assert event.actor_id == patient_user.pk and event.object_id == str(row.uuid)
    # the revoked token no longer works
    assert client.get("/api/tokens", **bearer(raw)).status_code == 401
