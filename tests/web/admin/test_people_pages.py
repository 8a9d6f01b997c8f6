"""The people and invitation pages under ``/practice/<org>/``: an administrator adds a nurse by
NPI and email, the invitation goes out through the worker to a real SMTP server, the nurse
follows the link, sets a password and is sent to set up TOTP; the list of invitations with
resend and revoke (patients' too); rights and deactivation behind a fresh re-authentication;
bad input beside the field with nothing written; everyone else gets the house's 404."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client
from support.reauth import freshly_signed_in
from support.world import make_admin

from carethread.accounts import actions
from carethread.accounts import practice_users as people
from carethread.accounts.models import Invitation, User
from carethread.api import actions as api_actions
from carethread.audit.models import AuditEvent
from carethread.core.models import Membership, Practitioner

pytestmark = pytest.mark.django_db

NPI = "1245319599"
PASSWORD = "correct-horse-battery-42"
LINK = re.compile(r"https?://[^/\s]+(/practice/join/[0-9a-f]{20,})")
NURSE = {
    "role": "staff",
    "npi": NPI,
    "email": "nora.nurse@riverside.example.org",
    "given_name": "Nora",
    "family_name": "Nurse",
}


@pytest.fixture
def admin(world):
    make_admin(world)
    return freshly_signed_in(world.c1.user)


def base(world) -> str:
    return f"/practice/{world.org.uuid}"


def member(world, practitioner) -> Membership:
    return Membership.objects.get(practitioner=practitioner, organization=world.org)


def test_the_list_shows_people_with_role_login_and_rights(world, admin):
    Membership.objects.filter(practitioner=world.c2).update(is_auditor=True)
    page = admin.get(f"{base(world)}/people")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Rivera" in text and "Okafor" in text and "c2@riverside.example.org" in text
    assert "auditor" in text and "admin" in text and "enrolled" in text
    assert "Hill" not in text  # another practice's clinician


@pytest.mark.parametrize("who", ["staff2", "outsider", "patient"])
def test_everyone_but_its_administrators_gets_the_same_404(world, who):
    make_admin(world)
    user = getattr(world, who).user
    client = freshly_signed_in(user)
    membership = member(world, world.c2)
    for path in (
        "people",
        "people/add",
        f"people/{membership.uuid}",
        "invitations",
    ):
        assert client.get(f"{base(world)}/{path}").status_code == 404, path
    for path in ("rights", "active", "invite"):
        response = client.post(f"{base(world)}/people/{membership.uuid}/{path}", {"active": "0"})
        assert response.status_code == 404, path
    membership.refresh_from_db()
    assert membership.active


def test_bad_input_is_shown_beside_the_field_and_nothing_is_written(world, admin):
    before = (Practitioner.objects.count(), Membership.objects.count(), Invitation.objects.count())
    cases = [
        ({**NURSE, "npi": "1234567890"}, "not a valid NPI"),
        ({**NURSE, "email": "c2@riverside.example.org"}, "already in use"),
        ({**NURSE, "npi": "1234567893"}, "already a member"),  # c1
        ({**NURSE, "role": "clinician", "npi": ""}, "A clinician needs an NPI"),
        ({**NURSE, "email": "not an address"}, "valid email"),
    ]
    for data, message in cases:
        page = admin.post(f"{base(world)}/people/add", data)
        assert page.status_code == 400, data
        text = page.content.decode()
        assert message in text, message
        assert 'value="Nurse"' in text  # typed values kept
    after = (Practitioner.objects.count(), Membership.objects.count(), Invitation.objects.count())
    assert after == before


@pytest.mark.django_db(transaction=True)  # the worker commits
def test_a_nurse_is_added_invited_and_joins(world, admin, smtp_server):
    page = admin.post(f"{base(world)}/people/add", NURSE)
    assert page.status_code == 302
    nurse = Practitioner.objects.get(npi=NPI)
    assert page["Location"] == f"{base(world)}/people/{member(world, nurse).uuid}"
    listing = admin.get(f"{base(world)}/invitations").content.decode()
    assert "Nora Nurse" in listing and ">sent<" in listing
    assert "invited" in admin.get(f"{base(world)}/people").content.decode()

    call_command("worker", "--once", stdout=open("/dev/null", "w"))  # noqa: SIM115
    (mail,) = smtp_server.messages
    assert mail.envelope_rcpt == [NURSE["email"]]
    path = LINK.search(mail.get_content())[1]

    invitee = Client()
    start = invitee.get(path)
    assert start.status_code == 302 and start["Location"] == "/practice/join"
    form = invitee.get("/practice/join")
    assert NURSE["email"] in form.content.decode()
    mismatch = invitee.post("/practice/join", {"password1": PASSWORD, "password2": "other-1"})
    assert mismatch.status_code == 400 and not User.objects.filter(email=NURSE["email"]).exists()
    joined = invitee.post("/practice/join", {"password1": PASSWORD, "password2": PASSWORD})
    assert joined.status_code == 302
    user = User.objects.get(email=NURSE["email"])
    assert user.practitioner == nurse
    # A practice user sets up an authenticator app before anything else.
    inbox = invitee.get("/messages/")
    assert inbox.status_code == 302 and inbox["Location"] == "/accounts/2fa/totp/activate/"
    assert Client().get(path).status_code == 404  # single use
    listing = admin.get(f"{base(world)}/invitations").content.decode()
    assert ">used<" in listing


def test_a_known_npi_from_another_practice_becomes_a_membership(world, admin):
    Practitioner.objects.filter(pk=world.outsider.pk).update(npi=NPI)
    practitioners = Practitioner.objects.count()
    page = admin.post(f"{base(world)}/people/add", {**NURSE, "email": ""})
    assert page.status_code == 302
    assert Practitioner.objects.count() == practitioners
    assert member(world, world.outsider).role == "staff"


def test_an_imported_practitioner_is_picked_and_invited(world, admin):
    imported = Practitioner.objects.create(family_name="Import", given_name="Ida")
    theirs = Practitioner.objects.create(family_name="Elsewhere")
    Membership.objects.create(practitioner=theirs, organization=world.other_org, role="staff")
    page = admin.get(f"{base(world)}/people/add").content.decode()
    assert str(imported.uuid) in page
    assert str(theirs.uuid) not in page  # another practice's people are not listed
    response = admin.post(
        f"{base(world)}/people/add",
        {"role": "clinician", "practitioner": str(imported.uuid), "email": "ida@example.org"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(practitioner=imported)
    assert invitation.organization == world.org and invitation.state() == "sent"


def test_resend_and_revoke_a_practice_users_invitation(world, admin):
    _m, first = people.add_practice_user(world.org, people.NewPerson(**NURSE), actor=world.c1.user)
    resent = admin.post(f"{base(world)}/invitations/{first.uuid}/resend")
    assert resent.status_code == 302
    first.refresh_from_db()
    second = Invitation.objects.exclude(pk=first.pk).get(practitioner=first.practitioner)
    assert first.state() == "revoked" and second.state() == "sent"
    assert admin.post(f"{base(world)}/invitations/{second.uuid}/revoke").status_code == 302
    second.refresh_from_db()
    assert second.state() == "revoked"
    assert AuditEvent.objects.filter(action="invitation.revoked").exists()


def test_patients_invitations_are_listed_and_the_portal_page_says_invited(world, admin):
    invitation, _token, _code = actions.create_invitation(
        world.unenrolled, created_by=world.c1.user, send_email=False
    )
    listing = admin.get(f"{base(world)}/invitations").content.decode()
    assert world.unenrolled.display_name in listing and ">sent<" in listing
    portal = admin.get("/practice/portal-access").content.decode()
    assert f"invited {invitation.created_at:%b} " in portal
    resent = admin.post(f"{base(world)}/invitations/{invitation.uuid}/resend")
    assert resent.status_code == 200 and b"invitation-code" in resent.content
    invitation.refresh_from_db()
    assert invitation.state() == "revoked"
    newest = Invitation.objects.filter(patient=world.unenrolled).latest("created_at")
    admin.post(f"{base(world)}/invitations/{newest.uuid}/revoke")
    assert "not enrolled" in admin.get("/practice/portal-access").content.decode()


def test_rights_need_a_fresh_reauthentication(world):
    make_admin(world)
    client = Client()
    client.force_login(world.c1.user)
    membership = member(world, world.c2)
    response = client.post(f"{base(world)}/people/{membership.uuid}/rights", {"auditor": "on"})
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    membership.refresh_from_db()
    assert not membership.is_auditor


def test_rights_are_set_and_audited(world, admin):
    membership = member(world, world.c2)
    response = admin.post(
        f"{base(world)}/people/{membership.uuid}/rights",
        {"admin": "on", "emergency_access": "on"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.is_admin and membership.emergency_access and not membership.is_auditor
    events = AuditEvent.objects.filter(action="user.privilege_changed", actor_id=world.c1.user.pk)
    assert {e.details["privilege"] for e in events} == {"practice_admin", "emergency_access"}


def test_the_last_administrator_cannot_lose_the_right(world, admin):
    own = member(world, world.c1)
    response = admin.post(f"{base(world)}/people/{own.uuid}/rights", {})
    assert response.status_code == 302
    page = admin.get(response["Location"]).content.decode()
    assert "keeps at least one administrator" in page
    own.refresh_from_db()
    assert own.is_admin


def test_deactivating_cuts_a_session_and_a_token_and_lists_their_threads(world, admin):
    from support.world import patient_question

    thread = patient_question(world).thread
    thread.assignee = world.staff
    thread.save(update_fields=["assignee"])
    membership = member(world, world.staff)
    page = admin.get(f"{base(world)}/people/{membership.uuid}").content.decode()
    assert f"/messages/{thread.uuid}/" in page

    session = Client()
    session.force_login(world.staff.user)
    assert session.get("/messages/").status_code == 200
    _row, raw = api_actions.create_token(world.staff.user, "script")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = admin.post(f"{base(world)}/people/{membership.uuid}/active", {"active": "0"})
    assert response.status_code == 302
    assert session.get("/messages/").status_code == 302
    assert api.get("/api/me").status_code == 401
    assert "deactivated" in admin.get(f"{base(world)}/people").content.decode()

    admin.post(f"{base(world)}/people/{membership.uuid}/active", {"active": "1"})
    assert api.get("/api/me").status_code == 200
