"""Representative (proxy) access comes from the patient's consent, never from what practice staff
can see: a representative's invitation goes only to their address on record (no printed code,
nothing on screen), enrolment must use that address, the patient is told (PHI-free) and can end
the access, and every invitation and enrolment names who created it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone
from support.world import PASSWORD, answered_question, make_admin, representative

from carethread.accounts import actions
from carethread.accounts.models import Invitation, User
from carethread.audit.models import AuditEvent
from carethread.core.models import Representative
from carethread.notifications import delivery
from carethread.notifications.models import Notification

pytestmark = pytest.mark.django_db

CODE = re.compile(rb"\b[A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5}\b")
TOKEN = re.compile(r"/enrol/([A-Za-z0-9_-]{20,})")
ATTACKER = "admin.proxy@attacker.example"
REP_ADDRESS = "new.proxy@example.com"
KIND = "proxy.access_granted"


@pytest.fixture
def admin_only(world):
    """An administrator of the practice who is staff in no pool: no clinical access."""
    make_admin(world, world.staff2)
    client = Client()
    client.force_login(world.staff2.user)
    return reauthenticated(client)


def reauthenticated(client):
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302
    return client


def invite(client, target, kind="representative"):
    return client.post(
        "/practice/portal-access/change",
        {"op": "invite", "kind": kind, "target": str(target.uuid)},
    )


def enrol_with_code(client, code, birth_date, email):
    client.post("/enrol", {"code": code})
    return enrol_form(client, birth_date, email)


def enrol_form(client, birth_date, email):
    return client.post(
        "/enrol/verify",
        {
            "birth_date": birth_date.isoformat(),
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


# --- the attack ----------------------------------------------------------------------------------


@pytest.mark.parametrize("address", [REP_ADDRESS, ""])
def test_an_admin_cannot_make_themselves_a_proxy(world, admin_only, address):
    """Invite a representative who has no login, read the birth date where staff see it, enrol
    with whatever the page showed under the admin's own address, then open the threads."""
    answer = answered_question(world)
    proxy = representative(world.patient, address, login=False)
    page = invite(admin_only, proxy)
    assert page.status_code in (200, 302)
    shown = admin_only.get("/practice/portal-access").content + page.content
    record = admin_only.get(f"/patients/{world.patient.uuid}/messages")
    birth_date = world.patient.birth_date  # shown to practice staff with the patient's record
    assert record.status_code == 200
    for code in set(CODE.findall(shown)):
        enrol_with_code(Client(), code.decode(), birth_date, ATTACKER)
    attacker = User.objects.filter(email=ATTACKER).first()
    if attacker is not None:
        client = Client()
        client.force_login(attacker)
        assert client.get(f"/messages/{answer.thread.uuid}/").status_code == 404
    assert attacker is None
    proxy.refresh_from_db()
    assert proxy.user is None
    if address:
        assert address.encode() not in shown
        assert b"emailed" in page.content
    else:
        assert b"No email address is on record" in admin_only.get("/practice/portal-access").content
        assert not Invitation.objects.filter(representative=proxy).exists()


def test_the_emailed_link_needs_the_address_it_was_sent_to(
    world, admin_only, smtp_server, django_capture_on_commit_callbacks
):
    answer = answered_question(world)
    proxy = representative(world.patient, REP_ADDRESS, login=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert invite(admin_only, proxy).status_code == 200
    (mail,) = smtp_server.messages
    assert mail.envelope_rcpt == [REP_ADDRESS]
    token = TOKEN.search(mail.get_content()).group(1)
    # Someone holding the link (forwarded, read over a shoulder) under another address: refused
    # with the same answer as an address already in use.
    stranger = Client()
    stranger.get(f"/enrol/{token}")
    refused = enrol_form(stranger, world.patient.birth_date, ATTACKER)
    taken = enrol_form(stranger, world.patient.birth_date, world.c1.user.email)
    assert refused.status_code == taken.status_code == 400
    message = b"This email address cannot be used for this invitation"
    assert message in refused.content and message in taken.content
    assert not User.objects.filter(email=ATTACKER).exists()
    # A signed-in user with another address cannot add it to their login either.
    signed_in = Client()
    signed_in.force_login(world.staff2.user)
    signed_in.get(f"/enrol/{token}")
    other = signed_in.post("/enrol/verify", {"birth_date": world.patient.birth_date.isoformat()})
    assert other.status_code == 400
    # The representative, under the address on record (any case): enrolled.
    rep = Client()
    rep.get(f"/enrol/{token}")
    done = enrol_form(rep, world.patient.birth_date, REP_ADDRESS.upper())
    assert done.status_code == 302 and done["Location"] == "/enrol/welcome"
    proxy.refresh_from_db()
    assert proxy.user.email == REP_ADDRESS
    assert rep.get(f"/messages/{answer.thread.uuid}/").status_code == 200


def test_inviting_a_representative_needs_a_fresh_reauthentication(world, smtp_server):
    make_admin(world, world.staff2)
    proxy = representative(world.patient, REP_ADDRESS, login=False)
    client = Client()
    client.force_login(world.staff2.user)
    asked = invite(client, proxy)
    assert asked.status_code == 302 and "/accounts/reauthenticate/" in asked["Location"]
    assert not Invitation.objects.exists()
    # After the password, the invitation is made (the suspended request resumes).
    resumed = client.post(asked["Location"], {"password": PASSWORD}, follow=True)
    assert resumed.status_code == 200
    assert Invitation.objects.filter(representative=proxy).count() == 1
    assert b"emailed to the representative" in invite(client, proxy).content


def test_no_printed_code_for_a_representative(world):
    proxy = representative(world.patient, REP_ADDRESS, login=False)
    invitation, token, code = actions.create_invitation(world.patient, representative=proxy)
    assert code == "" and invitation.code_hash is None and token
    assert actions.find_invitation(code="ABCDE-FGH23") is None
    # Patients still get a code for a printed letter.
    _inv, _token, patient_code = actions.create_invitation(world.unenrolled, send_email=False)
    assert actions.find_invitation(code=patient_code).patient == world.unenrolled


def test_a_representative_without_an_address_cannot_be_invited(world):
    proxy = representative(world.patient, "", login=False)
    with pytest.raises(actions.InvitationError) as excinfo:
        actions.create_invitation(world.patient, representative=proxy)
    assert excinfo.value.code == "no_address"
    assert not Invitation.objects.exists() and not events("invitation.created")


def test_wrong_addresses_count_towards_the_lock(world):
    proxy = representative(world.patient, REP_ADDRESS, login=False)
    invitation, _, _ = actions.create_invitation(world.patient, representative=proxy)
    for attempt in range(1, actions.MAX_FAILED_CHECKS + 1):
        with pytest.raises(actions.EnrolmentError) as excinfo:
            actions.enrol(invitation, world.patient.birth_date, ATTACKER, PASSWORD)
        expected = "locked" if attempt == actions.MAX_FAILED_CHECKS else "email_refused"
        assert excinfo.value.code == expected
    with pytest.raises(actions.EnrolmentError):
        actions.enrol(invitation, world.patient.birth_date, REP_ADDRESS, PASSWORD)
    failed = events("invitation.failed_check")
    assert [e.details["check"] for e in failed] == ["email"] * actions.MAX_FAILED_CHECKS
    assert not User.objects.filter(email__in=[ATTACKER, REP_ADDRESS]).exists()


def test_an_address_changed_since_the_invitation_voids_it(world):
    proxy = representative(world.patient, REP_ADDRESS, login=False)
    invitation, _, _ = actions.create_invitation(world.patient, representative=proxy)
    Representative.objects.filter(pk=proxy.pk).update(email="changed@example.com")
    for address in (REP_ADDRESS, "changed@example.com"):
        with pytest.raises(actions.EnrolmentError) as excinfo:
            actions.enrol(invitation, world.patient.birth_date, address, PASSWORD)
        assert excinfo.value.code == "email_refused"


def test_an_existing_login_at_that_address_adds_the_invitation(world):
    """The representative already has a login (e.g. as a patient) under the address on record."""
    proxy = representative(world.patient, world.other_patient.user.email, login=False)
    invitation, _, _ = actions.create_invitation(world.patient, representative=proxy)
    user = actions.enrol(invitation, world.patient.birth_date, user=world.other_patient.user)
    proxy.refresh_from_db()
    assert proxy.user == user == world.other_patient.user


# --- audit ---------------------------------------------------------------------------------------


def test_invitation_and_enrolment_name_their_creator(world, admin_only):
    proxy = representative(world.patient, REP_ADDRESS, login=False)
    assert invite(admin_only, proxy).status_code == 200
    (created,) = events("invitation.created")
    assert created.actor_id == world.staff2.user.pk and created.patient_id == world.patient.pk
    assert created.details == {"for": "representative", "emailed": True}
    invitation = Invitation.objects.get(representative=proxy)
    assert invitation.created_by == world.staff2.user
    user = actions.enrol(invitation, world.patient.birth_date, REP_ADDRESS, PASSWORD)
    (used,) = events("invitation.used")
    assert used.actor_id == user.pk and used.patient_id == world.patient.pk
    assert used.details == {
        "for": "representative",
        "created_by": str(world.staff2.user.uuid),
        "patient_notified": True,
    }
    text = str(created.details) + str(used.details)
    for phi in ("Lopez", "Doe", "Jane", REP_ADDRESS, "1980"):
        assert phi not in text


def test_a_patient_without_a_login_is_not_notified_but_it_is_audited(world):
    proxy = representative(world.unenrolled, REP_ADDRESS, login=False)
    invitation, _, _ = actions.create_invitation(world.unenrolled, representative=proxy)
    actions.enrol(invitation, world.unenrolled.birth_date, REP_ADDRESS, PASSWORD)
    assert not Notification.objects.filter(kind=KIND).exists()
    (used,) = events("invitation.used")
    assert used.details["patient_notified"] is False and used.details["created_by"] is None


# --- the patient is told, and can end the access -------------------------------------------------


def test_the_patient_is_told_without_phi(world, smtp_server):
    proxy = representative(world.patient, REP_ADDRESS, login=False)
    invitation, _, _ = actions.create_invitation(world.patient, representative=proxy)
    actions.enrol(invitation, world.patient.birth_date, REP_ADDRESS, PASSWORD)
    (notification,) = Notification.objects.filter(kind=KIND)
    assert notification.recipient == world.patient.user
    assert notification.subject_type == "invitation" and notification.subject_id == invitation.uuid
    assert delivery.deliver(notification.id) == "sent"
    (mail,) = smtp_server.messages
    assert mail.envelope_rcpt == [world.patient.user.email]
    text = mail.as_string()
    body = mail.get_content()
    assert "Riverside Family Medicine" in body
    assert "given access to your secure messages" in body
    assert "/account/representatives" in body
    for phi in ("Lopez", "Doe", "Jane", REP_ADDRESS, "RFM-1001", "1980", str(proxy.uuid)):
        assert phi not in text


def test_enrolling_while_signed_in_tells_the_patient_too(world):
    proxy = representative(world.patient, world.other_patient.user.email, login=False)
    invitation, _, _ = actions.create_invitation(world.patient, representative=proxy)
    actions.enrol(invitation, world.patient.birth_date, user=world.other_patient.user)
    assert Notification.objects.filter(kind=KIND, recipient=world.patient.user).count() == 1


def test_the_patient_ends_a_proxys_access(world):
    answer = answered_question(world)
    rep_client = Client()
    rep_client.force_login(world.rep.user)
    thread_url = f"/messages/{answer.thread.uuid}/"
    assert rep_client.get(thread_url).status_code == 200
    patient = Client()
    patient.force_login(world.patient.user)
    listing = patient.get("/account/representatives")
    assert listing.status_code == 200 and world.rep.display_name.encode() in listing.content
    revoke_url = f"/account/representatives/{world.rep.uuid}/revoke"
    confirm = patient.get(revoke_url)
    assert confirm.status_code == 200 and b"End access" in confirm.content
    done = patient.post(revoke_url)
    assert done.status_code == 302 and done["Location"] == "/account/representatives"
    assert rep_client.get(thread_url).status_code == 404
    world.rep.refresh_from_db()
    assert not world.rep.is_valid_at(timezone.now())
    (event,) = events("proxy.access_revoked")
    assert event.actor_id == world.patient.user.pk and event.patient_id == world.patient.pk
    assert event.object_id == str(world.rep.uuid)
    assert event.details == {"by": "patient", "had_login": True, "open_invitations": 0}
    # Ending it again changes nothing and is not an error.
    assert patient.post(revoke_url).status_code == 404


def test_revoking_cancels_an_open_invitation(world):
    proxy = representative(world.patient, REP_ADDRESS, login=False)
    _invitation, token, _ = actions.create_invitation(world.patient, representative=proxy)
    actions.revoke_representative(proxy, actor=world.patient.user)
    assert actions.find_invitation(token=token) is None
    assert events("proxy.access_revoked")[0].details["open_invitations"] == 1


@pytest.mark.parametrize(
    "who", ["rep", "other_patient", "c1", "staff2", "outsider", "expired_rep", "blocked"]
)
def test_only_the_patient_can_end_a_proxys_access(world, who):
    make_admin(world, world.staff2)
    users = {
        "rep": world.rep.user,
        "other_patient": world.other_patient.user,
        "c1": world.c1.user,
        "staff2": world.staff2.user,  # an administrator of the practice
        "outsider": world.outsider.user,
        "expired_rep": world.expired_rep.user,
        "blocked": world.blocked_patient.user,
    }
    client = Client()
    client.force_login(users[who])
    revoke_url = f"/account/representatives/{world.rep.uuid}/revoke"
    missing_url = "/account/representatives/00000000-0000-4000-8000-000000000000/revoke"
    expected = 302 if who == "blocked" else 404  # a blocked login is signed out first
    assert client.get(revoke_url).status_code == expected
    assert client.post(revoke_url).status_code == expected
    assert client.post(missing_url).status_code == expected
    listing = client.get("/account/representatives")
    assert world.rep.display_name.encode() not in listing.content
    world.rep.refresh_from_db()
    assert world.rep.valid_until is None and world.rep.is_valid_at(timezone.now())
    assert not events("proxy.access_revoked")


def test_the_representatives_page_needs_a_sign_in(world):
    response = Client().get("/account/representatives")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    revoke = Client().post(f"/account/representatives/{world.rep.uuid}/revoke")
    assert revoke.status_code == 302
    assert not events("proxy.access_revoked")


def test_admin_flag_grants_no_view_of_the_patients_record(world):
    """The patient's record page answers by membership: an admin flag changes nothing."""
    url = f"/patients/{world.patient.uuid}/messages"
    client = Client()
    client.force_login(world.staff2.user)
    before = client.get(url).status_code
    make_admin(world, world.staff2)
    assert client.get(url).status_code == before
    superuser = User.objects.create_superuser("root@example.org", PASSWORD)
    root = Client()
    root.force_login(superuser)
    assert root.get(url).status_code == 404


def test_the_account_menu_leads_a_patient_to_their_representatives(world):
    patient = Client()
    patient.force_login(world.patient.user)
    assert b'href="/account/representatives"' in patient.get("/messages/").content
    proxy = Client()
    proxy.force_login(world.rep.user)
    assert b'href="/account/representatives"' not in proxy.get("/messages/").content
