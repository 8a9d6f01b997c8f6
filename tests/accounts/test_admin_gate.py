"""``access_admin_organization``: one organisation the caller administers, by UUID, as
administrator, colleague, outsider and patient; everything else is the same 404."""

from __future__ import annotations

import uuid

import pytest
from django.http import Http404
from support.world import client_of, make_admin

from carethread.accounts.access import access_admin_organization, admin_organizations
from carethread.core.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(world):
    """The shared world with c1 an administrator of Riverside."""
    make_admin(world)
    return world


def test_the_administrator_gets_the_organisation(world):
    assert access_admin_organization(world.c1.user, world.org.uuid) == world.org
    assert access_admin_organization(world.c1.user, str(world.org.uuid)) == world.org


@pytest.mark.parametrize("who", ["c2", "staff", "outsider", "patient", "rep"])
def test_anyone_else_gets_404(world, who):
    with pytest.raises(Http404):
        access_admin_organization(getattr(world, who).user, world.org.uuid)


@pytest.mark.parametrize("value", ["not-a-uuid", "", None])
def test_a_malformed_id_is_404(world, value):
    with pytest.raises(Http404):
        access_admin_organization(world.c1.user, value)


def test_another_practice_or_an_unknown_one_is_404(world):
    for value in (world.other_org.uuid, uuid.uuid4()):
        with pytest.raises(Http404):
            access_admin_organization(world.c1.user, value)


def test_an_ended_admin_membership_or_practitioner_is_404(world):
    Membership.objects.filter(practitioner=world.c1, organization=world.org).update(active=False)
    with pytest.raises(Http404):
        access_admin_organization(world.c1.user, world.org.uuid)
    assert not admin_organizations(world.c1.user).exists()


@pytest.mark.parametrize(("who", "status"), [("c1", 200), ("c2", 404), ("outsider", 404)])
def test_the_settings_route_answers_through_the_gate(world, who, status):
    client = client_of(getattr(world, who).user)
    response = client.get(f"/api/practices/{world.org.uuid}/settings")
    assert response.status_code == status
