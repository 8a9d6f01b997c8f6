"""The accounts actions: users, invitations, enrolment, blocking, privileges — each audited."""

from __future__ import annotations

import datetime as dt

import pytest
from accounts_helpers import DOB, PASSWORD
from allauth.account.models import EmailAddress
from django.db import connection
from django.utils import timezone

from carethread.accounts import actions, invitations
from carethread.accounts.models import Invitation, User
from carethread.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_create_user_links_roles_and_audits(patient, representative):
    user = actions.create_user(
        "Both@Example.com", PASSWORD, patient=patient, representatives=[representative]
    )
    patient.refresh_from_db()
    representative.refresh_from_db()
    assert user.email == "both@example.com"
    assert patient.user == user and representative.user == user
    assert user.check_password(PASSWORD)
    assert EmailAddress.objects.filter(
        user=user, email=user.email, verified=True, primary=True
    ).exists()
    (event,) = events("user.created")
    assert event.object_id == str(user.uuid) and event.patient_id == patient.pk
    assert event.details == {"roles": ["patient", "representative"], "representations": 1}
    assert "example.com" not in str(event.details)


def test_create_user_without_password_cannot_sign_in(patient):
    user = actions.create_user("nopw@example.com", patient=patient)
    assert not user.has_usable_password()


def test_invitation_stores_only_digests_and_expires(patient, settings):
    settings.CARETHREAD_INVITATION_DAYS = 3
    invitation, token, code = actions.create_invitation(patient, send_email=False)
    assert len(token) >= 40
    assert len(code) == 11 and code[5] == "-"
    assert all(ch in invitations.CODE_ALPHABET for ch in code.replace("-", ""))
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_invitation")
        stored = str(cursor.fetchall())
    assert token not in stored and code.replace("-", "") not in stored and code not in stored
    assert invitation.token_hash != invitation.code_hash
    expected = invitation.created_at + dt.timedelta(days=3)
    assert invitation.expires_at == expected
    assert actions.find_invitation(token=token) == invitation
    assert actions.find_invitation(code=code.lower().replace("-", " ")) == invitation
    assert actions.find_invitation(code="AAAAA-AAAAA") is None
    (event,) = events("invitation.created")
    assert event.patient_id == patient.pk and event.details == {"for": "patient", "emailed": False}


def test_new_invitation_revokes_the_previous_one(patient):
    first, token1, _ = actions.create_invitation(patient, send_email=False)
    _second, token2, _ = actions.create_invitation(patient, send_email=False)
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert actions.find_invitation(token=token1) is None
    assert actions.find_invitation(token=token2) is not None


def test_invitation_email_is_phi_free(patient, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _inv, token, code = actions.create_invitation(patient)
    (message,) = smtp_server.messages
    assert message.envelope_rcpt == [patient.email]
    text = message.as_string()
    body = message.get_content()
    assert "Riverside Family Medicine" in body
    assert f"/enrol/{token}" in body
    # The date of birth in the forms people write it (random ids may hold "1979" by chance).
    birth = ("1979-04-12", "04/12/1979", "12/04/1979", "April 12, 1979", "12 April 1979")
    for phi in (patient.given_name, patient.family_name, patient.mrn, *birth, code):
        assert phi not in text


def test_representative_invitation_goes_to_representative(
    patient, representative, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        actions.create_invitation(patient, representative=representative)
    (message,) = smtp_server.messages
    assert message.envelope_rcpt == [representative.email]
    assert patient.given_name not in message.as_string()


def test_enrol_patient_single_use(patient):
    invitation, token, _ = actions.create_invitation(patient, send_email=False)
    user = actions.enrol(invitation, DOB, "Maria@Example.com", PASSWORD)
    patient.refresh_from_db()
    invitation.refresh_from_db()
    assert patient.user == user and user.check_password(PASSWORD)
    assert invitation.used_at is not None
    assert actions.find_invitation(token=token) is None
    with pytest.raises(actions.EnrolmentError) as excinfo:
        actions.enrol(invitation, DOB, "second@example.com", PASSWORD)
    assert excinfo.value.code == "invalid"
    assert not User.objects.filter(email="second@example.com").exists()
    (event,) = events("invitation.used")
    assert event.actor_id == user.pk and event.patient_id == patient.pk


def test_enrol_expired_invitation_refused(patient):
    invitation, _, _ = actions.create_invitation(patient, send_email=False)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(actions.EnrolmentError) as excinfo:
        actions.enrol(invitation, DOB, "maria@example.com", PASSWORD)
    assert excinfo.value.code == "invalid"
    assert not User.objects.exists()


def test_enrol_wrong_birth_date_counts_and_locks(patient):
    invitation, _, _ = actions.create_invitation(patient, send_email=False)
    wrong = DOB + dt.timedelta(days=1)
    for attempt in range(1, actions.MAX_FAILED_CHECKS + 1):
        with pytest.raises(actions.EnrolmentError) as excinfo:
            actions.enrol(invitation, wrong, "maria@example.com", PASSWORD)
        invitation.refresh_from_db()
        assert invitation.failed_checks == attempt
        expected = "locked" if attempt == actions.MAX_FAILED_CHECKS else "birth_date"
        assert excinfo.value.code == expected
    # Locked: even the right date of birth is refused now.
    with pytest.raises(actions.EnrolmentError) as excinfo:
        actions.enrol(invitation, DOB, "maria@example.com", PASSWORD)
    assert excinfo.value.code == "invalid"
    assert not User.objects.exists()
    failed = events("invitation.failed_check")
    assert len(failed) == actions.MAX_FAILED_CHECKS
    assert failed[-1].details == {"check": "birth_date", "failed_checks": 5, "locked": True}
    assert all(e.outcome == "failure" and e.patient_id == patient.pk for e in failed)


def test_representative_proves_the_patients_birth_date(patient, representative):
    invitation, _, _ = actions.create_invitation(
        patient, representative=representative, send_email=False
    )
    with pytest.raises(actions.EnrolmentError):
        actions.enrol(invitation, dt.date(1950, 1, 1), representative.email, PASSWORD)
    user = actions.enrol(invitation, DOB, representative.email, PASSWORD)
    representative.refresh_from_db()
    patient.refresh_from_db()
    assert representative.user == user
    assert patient.user is None


def test_enrol_refuses_an_address_already_in_use(patient, admin_user):
    invitation, _, _ = actions.create_invitation(patient, send_email=False)
    with pytest.raises(actions.EnrolmentError) as excinfo:
        actions.enrol(invitation, DOB, admin_user.email.upper(), PASSWORD)
    assert excinfo.value.code == "email_taken"
    invitation.refresh_from_db()
    assert invitation.used_at is None and invitation.failed_checks == 0


def test_enrol_links_a_signed_in_user(patient, representative):
    rep_user = actions.create_user("carlos@example.com", PASSWORD, representatives=[representative])
    invitation, _, _ = actions.create_invitation(patient, send_email=False)
    user = actions.enrol(invitation, DOB, user=rep_user)
    patient.refresh_from_db()
    assert user == rep_user and patient.user == rep_user


def test_block_and_unblock_are_audited(patient_user, admin_user, patient):
    actions.block_portal_access(
        patient_user, actor=admin_user, reason_code="misuse", patient=patient
    )
    patient_user.refresh_from_db()
    assert patient_user.is_blocked
    (event,) = events("portal.blocked")
    assert event.actor_id == admin_user.pk and event.patient_id == patient.pk
    assert event.object_id == str(patient_user.uuid)
    assert event.details == {"reason": "misuse", "changed": True}
    actions.unblock_portal_access(patient_user, actor=admin_user, patient=patient)
    patient_user.refresh_from_db()
    assert not patient_user.is_blocked
    assert len(events("portal.unblocked")) == 1
    with pytest.raises(ValueError):
        actions.block_portal_access(patient_user, actor=admin_user, reason_code="because I said so")


def test_set_practice_admin_is_a_privilege_change(clinician_user, admin_user):
    membership = clinician_user.membership
    actions.set_practice_admin(membership, True, actor=admin_user)
    membership.refresh_from_db()
    assert membership.is_admin
    (event,) = events("user.privilege_changed")
    assert event.actor_id == admin_user.pk
    assert event.details == {"privilege": "practice_admin", "granted": True}
    actions.set_practice_admin(membership, False, actor=None)
    membership.refresh_from_db()
    assert not membership.is_admin
    assert events("user.privilege_changed")[-1].actor_label == "system"
