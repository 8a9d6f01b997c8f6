"""Session authentication (CSRF on unsafe methods) and GET /api/me."""

from __future__ import annotations

import pytest
from django.test import Client

from carethread.api import actions
from carethread.api.models import ApiToken
from carethread.core.models import Organization, Representative

pytestmark = pytest.mark.django_db


def test_session_get_works_without_csrf(patient_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_user)
    response = client.get("/api/me")
    assert response.status_code == 200
    assert response.json()["roles"] == ["patient"]


def test_session_delete_needs_the_csrf_token(patient_user, patient_token):
    row, _raw = patient_token
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient_user)

    response = client.delete(f"/api/tokens/{row.uuid}")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert ApiToken.objects.get(pk=row.pk).revoked_at is None

    client.get("/account/api-tokens")  # the page sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    response = client.delete(f"/api/tokens/{row.uuid}", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 204
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None


def test_anonymous_delete_is_401_not_403(patient_token):
    row, _raw = patient_token
    response = Client(enforce_csrf_checks=True).delete(f"/api/tokens/{row.uuid}")
    assert response.status_code == 401


def test_blocked_session_user_is_refused(patient_user, settings):
    from django.utils import timezone

    client = Client()
    client.force_login(patient_user)
    type(patient_user).objects.filter(pk=patient_user.pk).update(blocked_at=timezone.now())
    assert client.get("/api/me").status_code != 200


def test_me_for_a_practice_user_lists_organisations_only(client, clinician_user, org):
    Organization.objects.create(tin="271234999", name="Not theirs")
    _row, raw = actions.create_token(clinician_user, "script")
    body = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body == {
        "uuid": str(clinician_user.uuid),
        "roles": ["practice"],
        "organizations": [str(org.uuid)],
    }
    text = str(body)
    assert clinician_user.email not in text and "Rivera" not in text


def test_me_for_a_representative(client, patient_user, clinician_user):
    from django.utils import timezone

    Representative.objects.create(
        patient=patient_user.patient,
        family_name="Lopez",
        user=clinician_user,
        consent_given_at=timezone.now(),
    )
    _row, raw = actions.create_token(clinician_user, "script")
    body = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["roles"] == ["representative", "practice"]


def test_me_query_count_is_pinned(client, clinician_user, django_assert_num_queries):
    _row, raw = actions.create_token(clinician_user, "script")
    client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")  # sets last_used_at
    # token + user (one join), memberships, patient, representative
    with django_assert_num_queries(4):
        response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
