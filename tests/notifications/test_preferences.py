"""Per-user notification preferences: GET/PUT /api/me/notifications and the
/account/notifications page; every change audited with codes only."""

from __future__ import annotations

import pytest
from django.test import Client

from carethread.api import actions as api_actions
from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.notifications import actions
from carethread.notifications.models import NotificationPreference, NotificationSettings

pytestmark = pytest.mark.django_db
URL = "/api/me/notifications"
NEW, ASSIGNED = actions.KIND_MESSAGE_NEW, actions.KIND_THREAD_ASSIGNED
CHANGED = codes.NOTIFICATION_PREFERENCE_CHANGED


def bearer(user) -> dict[str, str]:
    _row, raw = api_actions.create_token(user, "script")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def changes(user) -> list[dict]:
    return [
        e.details
        for e in AuditEvent.objects.filter(action=CHANGED, actor_id=user.pk).order_by("seq")
    ]


def test_defaults_email_on_and_no_sender_name(client, world):
    patient = client.get(URL, **bearer(world.patient.user))
    assert patient.status_code == 200
    assert patient.json() == {"email": {NEW: True}, "sender_name": False}
    clinician = client.get(URL, **bearer(world.c1.user)).json()
    assert clinician == {"email": {NEW: True, ASSIGNED: True}, "sender_name": False}


def test_put_changes_only_what_it_names_and_is_audited(client, world):
    user = world.patient.user
    auth = bearer(user)
    response = client.put(URL, {"email": {NEW: False}}, content_type="application/json", **auth)
    assert response.status_code == 200
    assert response.json() == {"email": {NEW: False}, "sender_name": False}
    response = client.put(URL, {"sender_name": True}, content_type="application/json", **auth)
    assert response.json() == {"email": {NEW: False}, "sender_name": True}
    assert client.get(URL, **auth).json() == {"email": {NEW: False}, "sender_name": True}
    assert NotificationPreference.objects.get(user=user, kind=NEW).email_enabled is False
    assert NotificationSettings.objects.get(user=user).sender_name is True
    # Saving the same values again changes nothing and records nothing.
    client.put(URL, {"email": {NEW: False}}, content_type="application/json", **auth)
    assert changes(user) == [{"email": {NEW: "off"}}, {"sender_name": "on"}]
    event = AuditEvent.objects.filter(action=CHANGED).last()
    assert event.object_id == str(user.uuid) and event.patient_id is None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": {"message.nope": False}}, 400),
        ({"email": {ASSIGNED: False}}, 400),  # a patient cannot be assigned threads
        ({"email": {NEW: "no"}}, 422),
        ({"sender_name": 1}, 422),
        ({"sendername": True}, 422),
        ([], 422),
    ],
)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(client, world, body, status):
    user = world.patient.user
    response = client.put(URL, body, content_type="application/json", **bearer(user))
    assert response.status_code == status
    assert set(response.json()) == {"detail"}
    assert not NotificationPreference.objects.exists()
    assert not NotificationSettings.objects.exists()
    assert changes(user) == []


def test_practice_user_can_turn_off_assignments(client, world):
    user = world.c1.user
    response = client.put(
        URL, {"email": {ASSIGNED: False}}, content_type="application/json", **bearer(user)
    )
    assert response.json() == {"email": {NEW: True, ASSIGNED: False}, "sender_name": False}


def test_api_needs_authentication(client):
    assert client.get(URL).status_code == 401
    response = client.put(URL, {"sender_name": True}, content_type="application/json")
    assert response.status_code == 401


def test_session_put_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.patient.user)
    response = client.put(URL, {"sender_name": True}, content_type="application/json")
    assert response.status_code == 403
    assert not NotificationSettings.objects.exists()


# -- the page ------------------------------------------------------------------------------------


def test_page_needs_sign_in(client):
    response = client.get("/account/notifications")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_page_shows_and_saves_the_preferences(client, world):
    user = world.patient.user
    client.force_login(user)
    page = client.get("/account/notifications").content.decode()
    assert 'name="email" value="message.new" checked' in page
    assert 'name="sender_name" value="on" aria' in page  # unchecked by default
    assert ASSIGNED not in page
    response = client.post("/account/notifications", {"sender_name": "on"})
    assert response.status_code == 302 and response["Location"] == "/account/notifications"
    assert actions.preferences(user) == {"email": {NEW: False}, "sender_name": True}
    page = client.get("/account/notifications").content.decode()
    assert 'name="email" value="message.new">' in page
    assert 'name="sender_name" value="on" checked' in page
    client.post("/account/notifications", {"email": [NEW]})
    assert actions.preferences(user) == {"email": {NEW: True}, "sender_name": False}
    assert changes(user) == [
        {"email": {NEW: "off"}, "sender_name": "on"},
        {"email": {NEW: "on"}, "sender_name": "off"},
    ]


def test_page_refuses_unknown_kinds(client, world):
    client.force_login(world.patient.user)
    response = client.post("/account/notifications", {"email": [NEW, "thread.assigned"]})
    assert response.status_code == 400
    assert not NotificationPreference.objects.exists()


def test_practice_user_page_lists_assignments(client, world):
    client.force_login(world.c1.user)
    page = client.get("/account/notifications").content.decode()
    assert 'value="thread.assigned" checked' in page
