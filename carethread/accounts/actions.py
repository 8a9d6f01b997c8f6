"""Every write of the accounts app: users, invitations, enrolment, portal blocking, privileges,
a patient ending a representative's access.

Each function runs in one transaction and writes its audit entry in that transaction.
Audit details hold codes and counts only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from carethread.accounts import access, invitations
from carethread.accounts.models import Invitation, User
from carethread.accounts.signals import login_linked
from carethread.audit import codes
from carethread.audit.actions import record
from carethread.core.models import Membership, Patient, Practitioner, Representative
from carethread.notifications.actions import enqueue

log = logging.getLogger(__name__)

MAX_FAILED_CHECKS = 5
BLOCK_REASONS = {
    "misuse": "Misuse of messaging",
    "security": "Security concern",
    "requested": "Requested by the patient or guardian",
    "other": "Other",
}


# Recorded for the patient when a representative enrols (subject: the invitation's uuid).
KIND_PROXY_ACCESS_GRANTED = "proxy.access_granted"


class EnrolmentError(Exception):
    """Enrolment refused; ``code`` says why (invalid, birth_date, locked, already_enrolled,
    email_taken, email_refused)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class InvitationError(Exception):
    """No invitation can be made; ``code`` says why (no_address: a representative without an
    email address on record)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def create_user(
    email: str,
    password: str | None = None,
    *,
    practitioner: Practitioner | None = None,
    patient: Patient | None = None,
    representatives: Iterable[Representative] = (),
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Create a login and link it to a practitioner, a patient and/or representative rows."""
    reps = list(representatives)
    with transaction.atomic():
        user = User.objects.create_user(email, password)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        roles = []
        if practitioner is not None:
            Practitioner.objects.filter(pk=practitioner.pk).update(user=user)
            practitioner.user = user
            roles.append("practice")
        if patient is not None:
            Patient.objects.filter(pk=patient.pk).update(user=user)
            patient.user = user
            roles.append("patient")
        if reps:
            Representative.objects.filter(pk__in=[r.pk for r in reps]).update(user=user)
            for rep in reps:
                rep.user = user
            roles.append("representative")
        _send_login_linked(user, patient, reps)
        record(
            codes.USER_CREATED,
            actor=actor,
            request=request,
            patient=patient,
            obj=user,
            details={"roles": roles, "representations": len(reps)},
        )
    return user


def _send_login_linked(user: User, patient: Patient | None, reps: Iterable[Representative]) -> None:
    """Tell the apps above (``signals.login_linked``) which patients the login was linked to:
    threads that existed before it (imported history) appear in its inbox."""
    if patient is not None:
        login_linked.send(User, user=user, patient=patient, side="patient")
    for rep in reps:
        login_linked.send(User, user=user, patient=rep.patient, side="representative")


def create_invitation(
    patient: Patient,
    *,
    representative: Representative | None = None,
    created_by: User | None = None,
    send_email: bool = True,
    request: HttpRequest | None = None,
) -> tuple[Invitation, str, str]:
    """A single-use, expiring invitation; returns it with its link token and printable code.

    Earlier open invitations for the same person are revoked. The email goes out after commit
    and names only the practice.

    A patient's invitation has a code for a printed letter (and is emailed to the patient's
    address when there is one and ``send_email``). A representative's has no code (``""``) and is
    always emailed, to the representative's address on record and nowhere else; enrolment must
    use that address (``InvitationError("no_address")`` when there is none). What practice staff
    can see is thus never enough to enrol as someone's representative.
    """
    if representative is not None and representative.patient_id != patient.pk:
        raise ValueError("The representative does not belong to this patient")
    address = (representative.email if representative is not None else patient.email).strip()
    if representative is not None and not address:
        raise InvitationError("no_address")
    token = invitations.new_token()
    code = "" if representative is not None else invitations.new_code()
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            patient=patient, representative=representative, used_at=None, revoked_at=None
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            patient=patient,
            representative=representative,
            token_hash=invitations.token_digest(token),
            code_hash=invitations.code_digest(code) if code else None,
            email_hash=invitations.email_digest(address) if representative is not None else "",
            created_at=now,
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
            expires_at=now + dt.timedelta(days=settings.CARETHREAD_INVITATION_DAYS),
        )
        emailed = bool(address) and (send_email or representative is not None)
        record(
            codes.INVITATION_CREATED,
            actor=created_by,
            request=request,
            patient=patient,
            obj=invitation,
            details={
                "for": "representative" if representative is not None else "patient",
                "emailed": emailed,
            },
        )
        if emailed:
            org = access.practice_of(patient)
            practice = org.name if org is not None else ""
            transaction.on_commit(lambda: _send_invitation(address, practice, token, invitation))
    return invitation, token, code


def _send_invitation(address: str, practice: str, token: str, invitation: Invitation) -> None:
    link = settings.CARETHREAD_BASE_URL + reverse("enrol_link", args=[token])
    context = {"practice": practice, "link": link, "expires_at": invitation.expires_at}
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_message.txt", context)
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]).send()
    except OSError:  # smtplib.SMTPException is an OSError
        log.warning("Invitation %s could not be emailed", invitation.uuid)


def find_invitation(*, token: str = "", code: str = "") -> Invitation | None:
    """The usable invitation for a link token or a printed code, else None."""
    lookup: dict[str, object]
    if token:
        lookup = {"token_hash": invitations.token_digest(token)}
    elif invitations.normalise_code(code):
        # Printed codes are for patients only.
        lookup = {"code_hash": invitations.code_digest(code), "representative": None}
    else:
        return None
    invitation = Invitation.objects.select_related("patient", "representative").filter(
        practitioner=None, **lookup
    )
    found = invitation.first()
    return found if found is not None and found.is_usable() else None


def enrol(
    invitation: Invitation,
    birth_date: dt.date,
    email: str = "",
    password: str | None = None,
    *,
    user: User | None = None,
    request: HttpRequest | None = None,
) -> User:
    """Check the patient's date of birth and link (or create) the login; all or nothing.

    A representative's invitation is checked against the *patient's* date of birth too, and the
    login's address (``email``, or the signed-in ``user``'s) must be the one the invitation was
    sent to, still on record for the representative. A wrong answer to either check counts
    against the invitation, which locks after MAX_FAILED_CHECKS. With ``user`` (already signed
    in) the invitation is linked to that login instead of creating one. When a representative
    enrols, the patient is notified (PHI-free) if they have a login.
    """
    failure: str | None = None
    with transaction.atomic():
        inv = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("patient", "representative", "created_by")
            .get(pk=invitation.pk)
        )
        patient = inv.patient
        if patient is None or not inv.is_usable():
            raise EnrolmentError("invalid")
        address = user.email if user is not None else email
        if birth_date != patient.birth_date:
            failure = _failed_check(inv, "birth_date", user, request)
        elif not _address_allowed(inv, address):
            failure = _failed_check(inv, "email", user, request)
        else:
            user = _link_enrolled_user(inv, email, password, user, request)
    if failure is not None:
        # Raised outside the block so that the failed check stays counted.
        raise EnrolmentError(failure)
    assert user is not None
    return user


def _address_allowed(inv: Invitation, address: str) -> bool:
    """A patient's invitation takes any address; a representative's only the one it was sent to,
    while it is still the representative's address on record."""
    rep = inv.representative
    if rep is None:
        return True
    typed = address.strip()
    return (
        bool(typed)
        and bool(inv.email_hash)
        and invitations.email_digest(typed) == inv.email_hash
        and typed.lower() == rep.email.strip().lower()
    )


def _failed_check(
    inv: Invitation, check: str, user: User | None, request: HttpRequest | None
) -> str:
    """Count a wrong answer (audited); returns the error code to raise."""
    inv.failed_checks += 1
    inv.save(update_fields=["failed_checks"])
    locked = inv.failed_checks >= MAX_FAILED_CHECKS
    record(
        codes.INVITATION_FAILED_CHECK,
        actor=user,
        request=request,
        patient=inv.patient,
        obj=inv,
        outcome="failure",
        details={"check": check, "failed_checks": inv.failed_checks, "locked": locked},
    )
    if locked:
        return "locked"
    return "birth_date" if check == "birth_date" else "email_refused"


def _link_enrolled_user(
    inv: Invitation,
    email: str,
    password: str | None,
    user: User | None,
    request: HttpRequest | None,
) -> User:
    patient, rep = inv.patient, inv.representative
    assert patient is not None  # enrol() refuses a practice user's invitation
    if (rep is not None and rep.user_id is not None) or (rep is None and patient.user_id):
        raise EnrolmentError("already_enrolled")
    if user is None:
        if User.objects.filter(email__iexact=email.strip()).exists():
            raise EnrolmentError("email_taken")
        user = create_user(
            email.strip(),
            password,
            patient=patient if rep is None else None,
            representatives=[rep] if rep is not None else (),
            request=request,
        )
    elif rep is not None:
        Representative.objects.filter(pk=rep.pk).update(user=user)
        _send_login_linked(user, None, [rep])
    else:
        Patient.objects.filter(pk=patient.pk).update(user=user)
        _send_login_linked(user, patient, [])
    inv.used_at = timezone.now()
    inv.save(update_fields=["used_at"])
    details: dict[str, object] = {
        "for": "representative" if rep is not None else "patient",
        "created_by": str(inv.created_by.uuid) if inv.created_by is not None else None,
    }
    if rep is not None:
        details["patient_notified"] = _notify_patient_of_proxy(inv)
    record(
        codes.INVITATION_USED,
        actor=user,
        request=request,
        patient=patient,
        obj=inv,
        details=details,
    )
    return user


def _notify_patient_of_proxy(inv: Invitation) -> bool:
    """Tell the patient (if they have a login) that a representative gained access: a PHI-free
    notification in this transaction. Returns whether one was recorded."""
    patient = inv.patient
    assert patient is not None  # a representative's invitation always has its patient
    patient_user_id = Patient.objects.filter(pk=patient.pk).values_list("user_id", flat=True)
    recipient = patient_user_id.first()
    if recipient is None:
        return False
    org = access.practice_of(patient)
    enqueue(
        KIND_PROXY_ACCESS_GRANTED,
        inv.uuid,
        [recipient],
        subject_type="invitation",
        practice_name=org.name if org is not None else "",
        return_ids=False,
    )
    return True


def revoke_representative(
    representative: Representative, *, actor: User | None, request: HttpRequest | None = None
) -> None:
    """End a representative's authorisation now (the patient's decision) and cancel their open
    invitations; audited as ``proxy.access_revoked``."""
    now = timezone.now()
    with transaction.atomic():
        rep = Representative.objects.select_for_update().get(pk=representative.pk)
        rep.valid_until = now
        if rep.valid_from is not None and rep.valid_from > now:
            rep.valid_from = now
        rep.save(update_fields=["valid_from", "valid_until"])
        cancelled = Invitation.objects.filter(
            representative=rep, used_at=None, revoked_at=None
        ).update(revoked_at=now)
        record(
            codes.PROXY_ACCESS_REVOKED,
            actor=actor,
            request=request,
            patient=rep.patient,
            obj=rep,
            details={
                "by": "patient",
                "had_login": rep.user_id is not None,
                "open_invitations": cancelled,
            },
        )
    representative.valid_from, representative.valid_until = rep.valid_from, rep.valid_until


def block_portal_access(
    user: User,
    *,
    actor: User | None,
    reason_code: str,
    patient: Patient | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Block a patient's or representative's login: no sign-in, sessions end at next request."""
    if reason_code not in BLOCK_REASONS:
        raise ValueError(f"Unknown reason code {reason_code!r}")
    _set_blocked(user, True, actor=actor, reason_code=reason_code, patient=patient, request=request)


def unblock_portal_access(
    user: User,
    *,
    actor: User | None,
    reason_code: str = "other",
    patient: Patient | None = None,
    request: HttpRequest | None = None,
) -> None:
    _set_blocked(
        user, False, actor=actor, reason_code=reason_code, patient=patient, request=request
    )


def _set_blocked(
    user: User,
    blocked: bool,
    *,
    actor: User | None,
    reason_code: str,
    patient: Patient | None,
    request: HttpRequest | None,
) -> None:
    with transaction.atomic():
        rows = User.objects.filter(pk=user.pk)
        if blocked:
            changed = rows.filter(blocked_at=None).update(blocked_at=timezone.now())
        else:
            changed = rows.exclude(blocked_at=None).update(blocked_at=None)
        user.refresh_from_db(fields=["blocked_at"])
        record(
            codes.PORTAL_BLOCKED if blocked else codes.PORTAL_UNBLOCKED,
            actor=actor,
            request=request,
            patient=patient,
            obj=user,
            details={"reason": reason_code, "changed": bool(changed)},
        )


def set_practice_admin(
    membership: Membership,
    is_admin: bool,
    *,
    actor: User | None,
    request: HttpRequest | None = None,
) -> None:
    """Grant or withdraw the practice-administrator privilege (a privilege change, audited)."""
    with transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(is_admin=is_admin)
        membership.is_admin = is_admin
        record(
            codes.USER_PRIVILEGE_CHANGED,
            actor=actor,
            request=request,
            obj=membership,
            details={"privilege": "practice_admin", "granted": is_admin},
        )
