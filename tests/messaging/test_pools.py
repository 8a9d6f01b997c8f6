"""The pool actions (messaging.pools): only the practice's administrators change its pools; a
pool's members are practice users of its practice, each once; a deactivated pool changes no
more; a pool in use is not deactivated."""

from __future__ import annotations

import pytest
from support.world import make_admin, patient_question

from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.core.models import CareTeamPool
from carethread.messaging import pools, practice_settings
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(world):
    make_admin(world)
    return world.c1.user


def refused(code: str, call, *args, **kwargs) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(MessagingError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code
    assert AuditEvent.objects.count() == before


def test_only_the_practices_administrators_change_its_pools(world, admin):
    for user in (world.staff.user, world.outsider.user, world.patient.user):
        refused("not_allowed", pools.create_pool, user, world.org, name="Nurses")
        refused("not_allowed", pools.rename_pool, user, world.refills, "Scripts")
        refused("not_allowed", pools.set_pool_member, user, world.refills, world.staff2, True)
        refused("not_allowed", pools.deactivate_pool, user, world.front)
    assert not CareTeamPool.objects.filter(name__in=["Nurses", "Scripts"]).exists()


def test_names_are_unique_in_a_practice_and_bounded(world, admin):
    refused("pool_name_taken", pools.create_pool, admin, world.org, name=" REFILLS ")
    refused("pool_name_taken", pools.rename_pool, admin, world.front, "refills")
    refused("too_long", pools.create_pool, admin, world.org, name="x" * 101)
    refused("bad_request", pools.create_pool, admin, world.org, name="   ")
    # Another practice may use the name; renaming to another case of its own name is a change.
    pools.rename_pool(admin, world.refills, "REFILLS")
    world.refills.refresh_from_db()
    assert world.refills.name == "REFILLS"


def test_members_are_practice_users_of_the_practice_once(world, admin):
    pools.set_pool_member(admin, world.refills, world.staff2, True)
    assert world.staff2 in world.refills.members.all()
    refused("already_member", pools.set_pool_member, admin, world.refills, world.staff2, True)
    refused("bad_member", pools.set_pool_member, admin, world.refills, world.outsider, True)
    pools.set_pool_member(admin, world.refills, world.staff2, False)
    refused("not_member", pools.set_pool_member, admin, world.refills, world.staff2, False)
    logged = AuditEvent.objects.filter(
        action__in=[codes.POOL_MEMBER_ADD, codes.POOL_MEMBER_REMOVE]
    ).values_list("action", flat=True)
    assert list(logged) == [codes.POOL_MEMBER_ADD, codes.POOL_MEMBER_REMOVE]


def test_a_pool_in_use_stays_and_a_deactivated_one_changes_no_more(world, admin):
    practice_settings.set_routing_rule(admin, world.org, "refill", world.refills)
    refused("pool_in_use", pools.deactivate_pool, admin, world.refills)
    practice_settings.delete_routing_rule(admin, world.org, "refill")
    thread = patient_question(world, to_practitioners=[], to_pool=world.refills).thread
    assert pools.pool_use(world.refills).open_threads == 1
    refused("pool_in_use", pools.deactivate_pool, admin, world.refills)
    Thread.objects.filter(pk=thread.pk).update(status=Thread.Status.CLOSED)
    pools.deactivate_pool(admin, world.refills)
    assert world.refills.active is False
    refused("bad_pool", pools.rename_pool, admin, world.refills, "Old refills")
    refused("bad_pool", pools.set_pool_member, admin, world.refills, world.staff2, True)
    refused("bad_pool", pools.deactivate_pool, admin, world.refills)
