"""The people of a practice (``accounts.practice_users``): adding a clinician or a staff member
by NPI or from the imported practitioners, their emailed invitation (through the worker, to a
real SMTP server), accepting it, rights with the last-administrator rule, deactivation (the
login, an open session and an API token stop working) and revoking invitations — each
audited, a refusal writing nothing."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client
from support.world import make_admin

from carethread.accounts import practice_users as people
from carethread.accounts.models import Invitation, User
from carethread.api import actions as api_actions
from carethread.audit.models import AuditEvent
from carethread.core.models import Membership, Practitioner

pytestmark = pytest.mark.django_db

NPI = "1245319599"  # valid (Luhn)
LINK = re.compile(r"(/practice/join/[0-9a-f]{20,})")
PASSWORD = "correct-horse-battery-42"


def nurse(role="staff", **extra) -> people.NewPerson:
    fields = {
        "role": role,
        "email": "nora.nurse@riverside.example.org",
        "given_name": "Nora",
        "family_name": "Nurse",
    }
    fields.update(extra)
    return people.NewPerson(**fields)


def counts() -> tuple[int, int, int, int]:
    return (
        Practitioner.objects.count(),
        Membership.objects.count(),
        Invitation.objects.count(),
        User.objects.count(),
    )


def test_adding_someone_new_makes_a_practitioner_a_membership_and_an_invitation(world):
    make_admin(world)
    membership, invitation = people.add_practice_user(
        world.org, nurse(npi=NPI), actor=world.c1.user
    )
    assert membership.role == "staff" and membership.organization == world.org
    assert membership.practitioner.npi == NPI and membership.practitioner.user is None
    assert invitation is not None and invitation.practitioner == membership.practitioner
    assert invitation.organization == world.org and invitation.patient is None
    assert invitation.state() == "sent"
    added = AuditEvent.objects.get(action="membership.added")
    assert added.actor_id == world.c1.user.pk
    assert added.details["role"] == "staff" and added.details["new_practitioner"] is True
    created = AuditEvent.objects.filter(action="invitation.created").last()
    assert created.details == {"for": "practice_user", "emailed": True}


def test_an_npi_known_at_another_practice_adds_a_membership_not_a_practitioner(world):
    make_admin(world)
    Practitioner.objects.filter(pk=world.outsider.pk).update(npi=NPI)
    before = Practitioner.objects.count()
    membership, invitation = people.add_practice_user(
        world.org, nurse(role="clinician", npi=NPI, email=""), actor=world.c1.user
    )
    assert Practitioner.objects.count() == before
    assert membership.practitioner == world.outsider
    assert invitation is None  # they have a login already
    assert set(world.outsider.memberships.values_list("organization", flat=True)) == {
        world.org.pk,
        world.other_org.pk,
    }


@pytest.mark.parametrize(
    ("person", "field"),
    [
        (nurse(email="c2@riverside.example.org"), "email"),  # a login's address
        (nurse(npi="1234567893"), "npi"),  # c1: a member already
        (nurse(email="", family_name="Nurse"), "email"),  # nobody to send the invitation to
        (nurse(family_name=""), "family_name"),
        (nurse(role="doctor"), "role"),
    ],
)
def test_refusals_name_the_field_and_write_nothing(world, person, field):
    make_admin(world)
    before = counts()
    events = AuditEvent.objects.count()
    with pytest.raises(people.PracticeUserError) as refused:
        people.add_practice_user(world.org, person, actor=world.c1.user)
    assert refused.value.field == field
    assert counts() == before and AuditEvent.objects.count() == events


def test_an_address_another_persons_invitation_went_to_is_taken(world):
    make_admin(world)
    people.add_practice_user(world.org, nurse(), actor=world.c1.user)
    with pytest.raises(people.PracticeUserError) as refused:
        people.add_practice_user(
            world.org, nurse(given_name="Other", family_name="Person"), actor=world.c1.user
        )
    assert refused.value.field == "email"


def test_accepting_makes_the_login_of_the_practitioner(world):
    make_admin(world)
    membership, invitation = people.add_practice_user(world.org, nurse(), actor=world.c1.user)
    token = people.invitation_token(invitation)
    found = people.find_invitation(token)
    assert found == invitation
    user = people.accept(found, PASSWORD)
    assert user.practitioner == membership.practitioner
    assert user.email == "nora.nurse@riverside.example.org" and user.check_password(PASSWORD)
    invitation.refresh_from_db()
    assert invitation.state() == "used"
    assert people.find_invitation(token) is None
    used = AuditEvent.objects.filter(action="invitation.used").last()
    assert used.details == {"for": "practice_user", "created_by": str(world.c1.user.uuid)}


def test_a_patients_enrolment_pages_do_not_take_a_practice_users_link(world):
    make_admin(world)
    _m, invitation = people.add_practice_user(world.org, nurse(), actor=world.c1.user)
    token = people.invitation_token(invitation)
    assert Client().get(f"/enrol/{token}").status_code == 404


def test_a_revoked_invitation_cannot_be_used_and_is_audited(world):
    make_admin(world)
    _m, invitation = people.add_practice_user(world.org, nurse(), actor=world.c1.user)
    assert people.revoke_invitation(invitation, actor=world.c1.user) is True
    assert invitation.state() == "revoked"
    assert people.find_invitation(people.invitation_token(invitation)) is None
    assert people.revoke_invitation(invitation, actor=world.c1.user) is False
    (event,) = AuditEvent.objects.filter(action="invitation.revoked")
    assert event.details == {"for": "practice_user"}


def test_rights_are_audited_privilege_changes_with_old_and_new(world):
    make_admin(world)
    membership = Membership.objects.get(practitioner=world.c2, organization=world.org)
    for right in ("admin", "auditor", "emergency_access"):
        assert people.set_right(membership, right, True, actor=world.c1.user) is True
        assert people.set_right(membership, right, True, actor=world.c1.user) is False
    membership.refresh_from_db()
    assert membership.is_admin and membership.is_auditor and membership.emergency_access
    events = AuditEvent.objects.filter(action="user.privilege_changed", actor_id=world.c1.user.pk)
    assert [e.details["privilege"] for e in events] == [
        "practice_admin",
        "auditor",
        "emergency_access",
    ]
    assert all(e.details["old"] is False and e.details["new"] is True for e in events)
    assert {e.details["practitioner"] for e in events} == {str(world.c2.uuid)}


def test_the_last_administrator_keeps_the_right(world):
    make_admin(world)
    membership = Membership.objects.get(practitioner=world.c1, organization=world.org)
    with pytest.raises(people.PracticeUserError):
        people.set_right(membership, "admin", False, actor=world.c1.user)
    with pytest.raises(people.PracticeUserError):
        people.set_active(membership, False, actor=world.c2.user)
    membership.refresh_from_db()
    assert membership.is_admin and membership.active
    make_admin(world, world.c2)
    assert people.set_right(membership, "admin", False, actor=world.c2.user) is True


def test_deactivation_ends_the_login_its_session_and_its_tokens(world):
    make_admin(world)
    staff = world.staff
    membership = Membership.objects.get(practitioner=staff, organization=world.org)
    session = Client()
    session.force_login(staff.user)
    assert session.get("/messages/").status_code == 200
    _row, raw = api_actions.create_token(staff.user, "script")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/me").status_code == 200

    assert people.set_active(membership, False, actor=world.c1.user) is True
    staff.user.refresh_from_db()
    staff.refresh_from_db()
    assert staff.user.is_active is False and staff.active is False
    assert session.get("/messages/").status_code == 302  # signed out: to the sign-in page
    assert api.get("/api/me").status_code == 401
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.details == {"practitioner": str(staff.uuid), "login": True}

    assert people.set_active(membership, True, actor=world.c1.user) is True
    staff.user.refresh_from_db()
    assert staff.user.is_active is True
    assert api.get("/api/me").status_code == 200
    assert AuditEvent.objects.filter(action="user.reactivated").exists()


def test_a_member_of_two_practices_keeps_their_login_for_the_other(world):
    make_admin(world)
    Membership.objects.create(practitioner=world.outsider, organization=world.org, role="staff")
    membership = Membership.objects.get(practitioner=world.outsider, organization=world.org)
    people.set_active(membership, False, actor=world.c1.user)
    world.outsider.user.refresh_from_db()
    assert world.outsider.user.is_active is True
    assert AuditEvent.objects.get(action="user.deactivated").details["login"] is False


def test_nobody_deactivates_themselves(world):
    make_admin(world)
    make_admin(world, world.c2)
    membership = Membership.objects.get(practitioner=world.c1, organization=world.org)
    with pytest.raises(people.PracticeUserError):
        people.set_active(membership, False, actor=world.c1.user)


@pytest.mark.django_db(transaction=True)  # the worker commits
def test_the_worker_emails_the_invitation_without_phi(world, smtp_server):
    make_admin(world)
    people.add_practice_user(world.org, nurse(), actor=world.c1.user)
    assert smtp_server.messages == []  # nothing sent in the request
    call_command("worker", "--once", stdout=open("/dev/null", "w"))  # noqa: SIM115
    (mail,) = smtp_server.messages
    assert mail.envelope_rcpt == ["nora.nurse@riverside.example.org"]
    body = mail.get_content()
    assert "Riverside Family Medicine" in mail["Subject"]
    assert LINK.search(body)
    assert "Nora" not in body and "Nurse" not in body
