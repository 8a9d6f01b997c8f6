"""Every personal API token expires: a lifetime chosen at creation (default 90 days), shown on
the page and in the API, and an expired token refused exactly like an unknown one."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from carethread.api import actions, tokens
from carethread.api.models import ApiToken
from carethread.audit.models import AuditEvent

PASSWORD = "correct-horse-battery-42"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def days_left(row: ApiToken) -> float:
    return (row.expires_at - row.created_at) / dt.timedelta(days=1)


@pytest.mark.django_db
def test_a_token_expires_after_90_days_by_default(patient_user):
    row, _raw = actions.create_token(patient_user, "script")
    assert days_left(row) == 90
    assert ApiToken.objects.get(pk=row.pk).expires_at == row.expires_at
    event = AuditEvent.objects.get(action="api.token_created")
    assert event.details == {"lifetime_days": 90}


@pytest.mark.django_db
@pytest.mark.parametrize("days", tokens.LIFETIME_DAYS)
def test_the_lifetime_is_chosen_at_creation(patient_user, days):
    row, _raw = actions.create_token(patient_user, "script", lifetime_days=days)
    assert days_left(row) == days


@pytest.mark.django_db
@pytest.mark.parametrize("days", [0, -1, 1, 91, 366, 100_000])
def test_other_lifetimes_are_refused(patient_user, days):
    with pytest.raises(actions.TokenError) as refused:
        actions.create_token(patient_user, "script", lifetime_days=days)
    assert refused.value.code == "expires_at"
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_an_explicit_expiry_cannot_exceed_the_longest_lifetime(patient_user):
    too_far = timezone.now() + dt.timedelta(days=max(tokens.LIFETIME_DAYS) + 1)
    with pytest.raises(actions.TokenError):
        actions.create_token(patient_user, "script", expires_at=too_far)


@pytest.mark.django_db
def test_an_expired_token_gets_the_same_401_as_an_unknown_one(client, patient_user):
    row, raw = actions.create_token(patient_user, "script", lifetime_days=7)
    assert client.get("/api/me", **bearer(raw)).status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = client.get("/api/me", **bearer(raw))
    unknown = client.get("/api/me", **bearer(tokens.new_token()))
    assert expired.status_code == unknown.status_code == 401
    assert expired.content == unknown.content


@pytest.mark.django_db
def test_the_api_lists_the_expiry(client, patient_user):
    row, raw = actions.create_token(patient_user, "script", lifetime_days=30)
    (listed,) = client.get("/api/tokens", **bearer(raw)).json()
    listed_at = dt.datetime.fromisoformat(listed["expires_at"])
    assert abs(listed_at - row.expires_at) < dt.timedelta(milliseconds=1)
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["TokenOut"]
    assert "expires_at" in schema["required"]


def reauthenticated(client, user):
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    return client


@pytest.mark.django_db
def test_the_page_offers_the_lifetimes_and_shows_each_expiry(client, patient_user):
    reauthenticated(client, patient_user)
    page = client.get("/account/api-tokens").content.decode()
    options = re.findall(r'<option value="(\d+)"( selected)?>', page)
    assert [int(days) for days, _ in options] == list(tokens.LIFETIME_DAYS)
    assert [int(days) for days, chosen in options if chosen] == [90]
    response = client.post("/account/api-tokens/create", {"name": "script", "lifetime_days": "7"})
    assert response.status_code == 200
    row = ApiToken.objects.get()
    assert days_left(row) == 7
    page = client.get("/account/api-tokens").content.decode()
    assert '<th scope="col">Expires</th>' in page
    assert timezone.localtime(row.expires_at).strftime("%Y-%m-%d %H:%M") in page


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["3", "abc", "९०", "9" * 50, "-7"])
def test_the_page_refuses_other_lifetimes(client, patient_user, value):
    reauthenticated(client, patient_user)
    response = client.post("/account/api-tokens/create", {"name": "x", "lifetime_days": value})
    assert response.status_code == 400
    assert "how long the token stays valid" in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_an_expired_token_is_listed_as_expired(client, patient_user):
    row, _raw = actions.create_token(patient_user, "old")
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    client.force_login(patient_user)
    page = client.get("/account/api-tokens").content.decode()
    assert ">expired<" in page


@pytest.mark.django_db(transaction=True)
def test_tokens_without_an_expiry_get_one_when_migrating(patient_user):
    executor = MigrationExecutor(connection)
    executor.migrate([("api", "0001_initial")])
    old_apps = executor.loader.project_state([("api", "0001_initial")]).apps
    OldToken = old_apps.get_model("api", "ApiToken")
    OldToken.objects.create(
        user_id=patient_user.pk, name="legacy", prefix="ct_abcde", token_hash="a" * 64
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    row = ApiToken.objects.get(name="legacy")
    left = row.expires_at - timezone.now()
    assert dt.timedelta(days=89) < left <= dt.timedelta(days=90)
