"""``/practice/``: the administration index lists, per practice the user administers, the areas
whose pages exist (looked up by URL name: a page not built is not linked), then the pages for
all their practices; auditors see the audit report. Everyone else gets the 404 page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from support.world import client_of, make_admin

from carethread.core.models import Membership
from carethread.web.admin import index

pytestmark = pytest.mark.django_db

INDEX = "/practice/"


def hrefs(response) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', response.content.decode()))


def test_an_administrator_sees_the_areas_of_their_practice(world):
    make_admin(world)
    response = client_of(world.c1.user).get(INDEX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Riverside Family Medicine" in page and "Hillside Pediatrics" not in page
    links = hrefs(response)
    assert reverse("portal_access") in links and reverse("delivery_health") in links
    for area in index.PRACTICE_AREAS:
        found = index.link(area, org_uuid=str(world.org.uuid))
        if found is not None:
            assert found["url"] in links
            assert str(world.other_org.uuid) not in found["url"]
    assert response["Cache-Control"].startswith("max-age=0")


def test_an_area_whose_page_does_not_exist_is_not_listed(world, monkeypatch):
    make_admin(world)
    missing = index.Area("Not built yet", "A page that does not exist.", ("no_such_page",))
    monkeypatch.setattr(index, "PRACTICE_AREAS", (*index.PRACTICE_AREAS, missing))
    monkeypatch.setattr(index, "ADMIN_AREAS", (*index.ADMIN_AREAS, missing))
    page = client_of(world.c1.user).get(INDEX).content.decode()
    assert "Not built yet" not in page
    assert index.link(missing) is None


def test_an_administrator_of_two_practices_sees_both(world):
    make_admin(world)
    Membership.objects.create(
        practitioner=world.c1, organization=world.other_org, role="clinician", is_admin=True
    )
    page = client_of(world.c1.user).get(INDEX).content.decode()
    assert "Riverside Family Medicine" in page and "Hillside Pediatrics" in page


def test_an_auditor_who_is_not_an_administrator_sees_the_audit_pages_only(world):
    Membership.objects.filter(practitioner=world.c2).update(is_auditor=True)
    response = client_of(world.c2.user).get(INDEX)
    assert response.status_code == 200
    links = hrefs(response)
    assert reverse("portal_access") not in links
    audit = index.link(index.AUDIT_AREAS[0])
    if audit is not None:
        assert audit["url"] in links


@pytest.mark.parametrize("who", ["c2", "staff", "outsider", "patient", "rep"])
def test_anyone_else_gets_the_404_page(world, who):
    make_admin(world)
    user = getattr(world, who).user
    response = client_of(user).get(INDEX)
    assert response.status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(world):
    response = Client().get(INDEX)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
