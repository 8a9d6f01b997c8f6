"""The practice settings pages (/practice/<org>/...): an administrator changes each setting
through the page and the database and the audit trail show it; bad input is refused beside the
field with nothing written; anyone else gets the 404 of a missing page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from support.world import client_of, make_admin, patient_question

from carethread.accounts import actions as accounts
from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.core.models import CareTeamPool, Location, Membership
from carethread.messaging import practice_settings
from carethread.messaging.models import RoutingRule, Template

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(world):
    make_admin(world)
    return client_of(world.c1.user)


def base(world) -> str:
    return f"/practice/{world.org.uuid}"


def entries(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def field_error(response, field: str) -> str:
    """The error text shown beside ``field`` (Django's field group: ``id_<field>_error``)."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', text(response))
    assert found, f"no error beside {field}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


# -- the profile and the locations -------------------------------------------------------------


def test_the_chooser_lists_the_practices_administered(world, admin):
    page = admin.get("/practice/settings")
    assert page.status_code == 200
    assert world.org.name in text(page) and world.other_org.name not in text(page)
    assert f"/practice/{world.org.uuid}/settings" in text(page)


def test_admin_changes_the_profile(world, admin):
    page = admin.get(f"{base(world)}/settings")
    assert page.status_code == 200 and world.org.tin in text(page)
    response = admin.post(
        f"{base(world)}/settings", {"name": "Riverside Family Care", "phone": "555.201.3344"}
    )
    assert response.status_code == 302
    world.org.refresh_from_db()
    assert (world.org.name, world.org.phone) == ("Riverside Family Care", "(555) 201-3344")
    changes = {e.details["field"]: e.details for e in entries(codes.SETTING_CHANGED)}
    assert changes["phone"]["old"] == "" and changes["phone"]["new"] == "(555) 201-3344"
    assert changes["name"]["old"] == "Riverside Family Medicine"
    assert entries(codes.SETTING_CHANGED)[0].object_id == str(world.org.uuid)


@pytest.mark.parametrize("phone", ["12345", "555-201-334x", "(055) 201-3344", "call us"])
def test_a_bad_phone_number_is_refused_beside_the_field(world, admin, phone):
    response = admin.post(f"{base(world)}/settings", {"name": "Renamed", "phone": phone})
    assert response.status_code == 400
    assert "US phone number" in field_error(response, "phone")
    assert f'value="{phone}"' in text(response) and 'value="Renamed"' in text(response)
    world.org.refresh_from_db()
    assert world.org.name == "Riverside Family Medicine" and world.org.phone == ""
    assert entries(codes.SETTING_CHANGED) == []


def test_a_name_longer_than_the_audit_trail_keeps_is_refused(world, admin):
    response = admin.post(f"{base(world)}/settings", {"name": "R" * 101, "phone": ""})
    assert response.status_code == 400 and "at most 100" in field_error(response, "name")
    location = {"name": "L" * 101, "pos_code": "11", "state": "", "county": ""}
    response = admin.post(f"{base(world)}/locations", location)
    assert response.status_code == 400 and "at most 100" in field_error(response, "name")
    assert Location.objects.count() == 1 and entries(codes.SETTING_CHANGED) == []


def test_admin_adds_and_edits_a_location(world, admin):
    response = admin.post(
        f"{base(world)}/locations",
        {"name": "Telehealth", "pos_code": "02", "state": "oh", "county": "Franklin"},
    )
    assert response.status_code == 302
    place = Location.objects.get(organization=world.org, name="Telehealth")
    assert (place.pos_code, place.state, place.county) == ("02", "OH", "Franklin")
    assert entries(codes.LOCATION_CREATE)[0].details["new"] == {
        "name": "Telehealth",
        "pos_code": "02",
        "state": "OH",
        "county": "Franklin",
    }
    assert "Telehealth" in text(admin.get(f"{base(world)}/locations"))

    url = f"{base(world)}/locations/{place.uuid}"
    assert admin.get(url).status_code == 200
    data = {"name": "Telehealth", "pos_code": "10", "state": "OH", "county": "Delaware"}
    assert admin.post(url, data).status_code == 302
    place.refresh_from_db()
    assert (place.pos_code, place.county) == ("10", "Delaware")
    change = entries(codes.LOCATION_UPDATE)[0].details
    assert change == {
        "old": {"pos_code": "02", "county": "Franklin"},
        "new": {"pos_code": "10", "county": "Delaware"},
    }


def test_a_bad_location_is_refused_beside_each_field(world, admin):
    response = admin.post(
        f"{base(world)}/locations", {"name": "", "pos_code": "1x", "state": "ZZ", "county": ""}
    )
    assert response.status_code == 400
    assert "place-of-service code" in field_error(response, "pos_code")
    assert "two-letter code of a US state" in field_error(response, "state")
    assert field_error(response, "name")
    assert 'value="1x"' in text(response) and 'value="ZZ"' in text(response)
    assert Location.objects.count() == 1 and entries(codes.LOCATION_CREATE) == []


def test_another_practices_location_is_not_found(world, admin):
    theirs = Location.objects.create(organization=world.other_org, name="Far", pos_code="11")
    assert admin.get(f"{base(world)}/locations/{theirs.uuid}").status_code == 404


# -- the messaging settings --------------------------------------------------------------------


MESSAGING = {
    "messaging_enabled": "on",
    "expected_response_hours": "48",
    "reply_window_days": "30",
    "auto_acknowledge": "on",
}


def test_admin_changes_the_messaging_settings(world, admin):
    page = admin.get(f"{base(world)}/settings/messaging")
    assert page.status_code == 200 and "mod2-2015" in text(page)
    assert admin.post(f"{base(world)}/settings/messaging", MESSAGING).status_code == 302
    world.org.refresh_from_db()
    assert world.org.reply_window_days == 30 and world.org.expected_response_hours == 48
    changes = {
        e.details["field"]: (e.details["old"], e.details["new"])
        for e in entries(codes.SETTING_CHANGED)
    }
    assert changes == {"reply_window_days": (14, 30), "expected_response_hours": (72, 48)}

    switched_off = {**MESSAGING}
    del switched_off["messaging_enabled"]
    assert admin.post(f"{base(world)}/settings/messaging", switched_off).status_code == 302
    world.org.refresh_from_db()
    assert world.org.messaging_enabled is False
    last = entries(codes.SETTING_CHANGED)[-1].details
    assert (last["field"], last["old"], last["new"]) == ("messaging_enabled", True, False)


@pytest.mark.parametrize(
    ("field", "value"),
    [("reply_window_days", "0"), ("reply_window_days", "366"), ("expected_response_hours", "x")],
)
def test_bad_messaging_settings_are_refused(world, admin, field, value):
    response = admin.post(f"{base(world)}/settings/messaging", {**MESSAGING, field: value})
    assert response.status_code == 400
    assert field_error(response, field)
    assert f'value="{value}"' in text(response)
    world.org.refresh_from_db()
    assert world.org.reply_window_days == 14 and entries(codes.SETTING_CHANGED) == []


# -- pools and routing -------------------------------------------------------------------------


def test_admin_creates_a_pool_with_a_member_a_target_and_a_name(world, admin):
    response = admin.post(f"{base(world)}/pools", {"name": "Nurses"})
    pool = CareTeamPool.objects.get(organization=world.org, name="Nurses")
    assert response.status_code == 302 and response["Location"].endswith(str(pool.uuid))
    assert entries(codes.POOL_CREATE)[-1].object_id == str(pool.uuid)
    assert entries(codes.POOL_CREATE)[-1].source_address == "127.0.0.1"
    url = f"{base(world)}/pools/{pool.uuid}"
    assert world.staff2.display_name in text(admin.get(url))

    assert admin.post(f"{url}/members", {"practitioner": world.staff2.uuid}).status_code == 302
    assert list(pool.members.all()) == [world.staff2]
    assert entries(codes.POOL_MEMBER_ADD)[0].details == {"practitioner": str(world.staff2.uuid)}

    again = admin.post(f"{url}/members", {"practitioner": world.staff2.uuid})
    assert again.status_code == 400
    assert "already a member" in field_error(again, "practitioner")

    assert admin.post(f"{url}/target", {"hours": "8"}).status_code == 302
    pool.refresh_from_db()
    assert pool.response_target_hours == 8
    target = entries(codes.SETTING_CHANGED)[-1].details
    assert (target["field"], target["old"], target["new"]) == ("response_target_hours", None, 8)

    assert admin.post(url, {"name": "Nursing team"}).status_code == 302
    pool.refresh_from_db()
    assert pool.name == "Nursing team"
    assert entries(codes.POOL_UPDATE)[0].details == {
        "field": "name",
        "old": "Nurses",
        "new": "Nursing team",
    }

    removed = admin.post(f"{url}/members/remove", {"practitioner": world.staff2.uuid})
    assert removed.status_code == 302 and pool.members.count() == 0
    assert len(entries(codes.POOL_MEMBER_REMOVE)) == 1


def test_bad_pool_input_is_refused(world, admin):
    taken = admin.post(f"{base(world)}/pools", {"name": "refills"})
    assert taken.status_code == 400 and "already exists" in field_error(taken, "name")
    assert 'value="refills"' in text(taken)
    empty = admin.post(f"{base(world)}/pools", {"name": "  "})
    assert empty.status_code == 400 and field_error(empty, "name")
    url = f"{base(world)}/pools/{world.refills.uuid}"
    outsider = admin.post(f"{url}/members", {"practitioner": world.outsider.uuid})
    assert outsider.status_code == 400
    assert "practice user of this practice" in field_error(outsider, "practitioner")
    for hours in ("0", "100000", "soon"):
        refused = admin.post(f"{url}/target", {"hours": hours})
        assert refused.status_code == 400 and field_error(refused, "hours")
    assert CareTeamPool.objects.filter(organization=world.org).count() == 2
    assert list(world.refills.members.all()) == [world.staff]
    world.refills.refresh_from_db()
    assert world.refills.response_target_hours is None
    assert entries(codes.POOL_CREATE)[-1].object_id != "" and not entries(codes.POOL_MEMBER_ADD)


def test_a_pool_in_use_is_not_deactivated(world, admin):
    url = f"{base(world)}/pools/{world.refills.uuid}"
    practice_settings.set_routing_rule(world.c1.user, world.org, "refill", world.refills)
    refused = admin.post(f"{url}/deactivate")
    assert refused.status_code == 400
    assert "still in use" in text(refused) and "refill" in text(refused)
    RoutingRule.objects.all().delete()
    patient_question(world, to_practitioners=[], to_pool=world.refills, category="refill")
    refused = admin.post(f"{url}/deactivate")
    assert refused.status_code == 400 and "1 conversation not closed" in text(refused)
    world.refills.refresh_from_db()
    assert world.refills.active and not entries(codes.POOL_DEACTIVATE)

    unused = CareTeamPool.objects.create(organization=world.org, name="Spare")
    assert admin.post(f"{base(world)}/pools/{unused.uuid}/deactivate").status_code == 302
    unused.refresh_from_db()
    assert unused.active is False
    assert entries(codes.POOL_DEACTIVATE)[0].object_id == str(unused.uuid)
    assert "deactivated" in text(admin.get(f"{base(world)}/pools"))


def test_admin_sets_and_removes_a_routing_rule(world, admin):
    page = admin.get(f"{base(world)}/routing")
    assert page.status_code == 200
    data = {"category": "refill", "pool": world.refills.uuid}
    assert admin.post(f"{base(world)}/routing", data).status_code == 302
    assert RoutingRule.objects.get(organization=world.org, category="refill").pool == world.refills
    assert entries(codes.ROUTING_SET)[0].details == {
        "category": "refill",
        "pool": str(world.refills.uuid),
    }
    removed = admin.post(f"{base(world)}/routing/remove", {"category": "refill"})
    assert removed.status_code == 302 and not RoutingRule.objects.exists()
    assert entries(codes.ROUTING_DELETE)[0].details == {"category": "refill"}


def test_a_routing_rule_to_another_practices_pool_is_refused(world, admin):
    theirs = CareTeamPool.objects.create(organization=world.other_org, name="Far")
    inactive = CareTeamPool.objects.create(organization=world.org, name="Old", active=False)
    for pool in (theirs, inactive):
        response = admin.post(f"{base(world)}/routing", {"category": "refill", "pool": pool.uuid})
        assert response.status_code == 400
        assert "active pools" in field_error(response, "pool")
    bad = admin.post(f"{base(world)}/routing", {"category": "gossip", "pool": world.refills.uuid})
    assert bad.status_code == 400 and field_error(bad, "category")
    assert not RoutingRule.objects.exists() and not entries(codes.ROUTING_SET)


# -- templates ---------------------------------------------------------------------------------


def test_admin_creates_edits_previews_and_retires_a_template(world, admin):
    page = admin.get(f"{base(world)}/templates")
    assert page.status_code == 200 and "{patient_first_name}" in text(page)
    data = {
        "name": "Labs",
        "category": "medical",
        "subject": "Your results",
        "body": "Dear {patient_first_name}, your labs are in. {{not a placeholder}}",
    }
    assert admin.post(f"{base(world)}/templates", data).status_code == 302
    template = Template.objects.get(organization=world.org, name="Labs")
    assert template.category == "medical"
    assert entries(codes.TEMPLATE_CREATE)[0].object_id == str(template.uuid)

    url = f"{base(world)}/templates/{template.uuid}"
    edit = admin.get(url)
    assert "Dear Alex, your labs are in. {not a placeholder}" in text(edit)
    assert admin.post(url, {**data, "name": "Lab results"}).status_code == 302
    template.refresh_from_db()
    assert template.name == "Lab results"
    assert entries(codes.TEMPLATE_UPDATE)[0].details == {"fields": ["name"]}

    assert admin.post(f"{url}/retire").status_code == 302
    template.refresh_from_db()
    assert template.active is False and len(entries(codes.TEMPLATE_DEACTIVATE)) == 1
    assert "retired" in text(admin.get(f"{base(world)}/templates"))


def test_bad_templates_are_refused_beside_the_field(world, admin):
    practice_settings.create_template(world.c1.user, world.org, name="Labs", body="In.")
    bad = {"name": "Flu", "category": "", "subject": "Hi {name}", "body": "Come {when}"}
    response = admin.post(f"{base(world)}/templates", bad)
    assert response.status_code == 400
    assert "Use only these placeholders" in field_error(response, "body")
    assert "Use only these placeholders" in field_error(response, "subject")
    assert "Come {when}" in text(response)
    taken = admin.post(
        f"{base(world)}/templates", {**bad, "name": "Labs", "subject": "", "body": "x"}
    )
    assert taken.status_code == 400 and "already exists" in field_error(taken, "name")
    empty = admin.post(f"{base(world)}/templates", {**bad, "subject": "", "body": ""})
    assert empty.status_code == 400 and field_error(empty, "body")
    assert Template.objects.count() == 1 and len(entries(codes.TEMPLATE_CREATE)) == 1


# -- who may open the pages --------------------------------------------------------------------


def urls(world) -> list[tuple[str, str]]:
    """(method, path) of every settings route, with objects of the world's practice."""
    template = practice_settings.create_template(world.c1.user, world.org, name="Labs", body="In.")
    b = base(world)
    pool = f"{b}/pools/{world.refills.uuid}"
    pages = [
        f"{b}/settings",
        f"{b}/settings/messaging",
        f"{b}/locations",
        f"{b}/locations/{world.office.uuid}",
        f"{b}/pools",
        pool,
        f"{b}/routing",
        f"{b}/templates",
        f"{b}/templates/{template.uuid}",
    ]
    posts = [
        f"{pool}/target",
        f"{pool}/members",
        f"{pool}/members/remove",
        f"{pool}/deactivate",
        f"{b}/routing/remove",
        f"{b}/templates/{template.uuid}/retire",
    ]
    return [("get", p) for p in pages] + [("post", p) for p in pages + posts]


@pytest.mark.parametrize(
    "who", ["practice user", "patient", "admin of another practice", "anonymous"]
)
def test_only_the_practices_administrators_reach_the_pages(world, who):
    make_admin(world)
    other_admin = Membership.objects.get(practitioner=world.outsider)
    accounts.set_practice_admin(other_admin, True, actor=None)
    users = {
        "practice user": world.staff2.user,
        "patient": world.patient.user,
        "admin of another practice": world.outsider.user,
    }
    client = client_of(users[who]) if who in users else Client()
    before = AuditEvent.objects.count()
    for method, path in [*urls(world), ("get", "/practice/settings")]:
        response = getattr(client, method)(path, {"name": "X", "hours": "8", "category": "refill"})
        if who == "anonymous":
            assert response.status_code == 302, (method, path)
            assert response["Location"].startswith("/accounts/login/"), (method, path)
        elif path == "/practice/settings" and who == "admin of another practice":
            assert response.status_code == 200  # their own practice only
            assert world.org.name not in text(response)
        else:
            assert response.status_code == 404, (method, path, response.status_code)
    assert AuditEvent.objects.count() == before + 1  # the template urls() made
