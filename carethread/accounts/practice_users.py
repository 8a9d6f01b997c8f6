"""Every write about a practice's people: adding a clinician or a staff member, inviting them
to a login, their rights (administrator, auditor, emergency access), deactivating and
reactivating them, and revoking or resending any invitation of the practice.

Each function runs in one transaction with its audit entry. Refusals raise
``PracticeUserError`` (the form field it belongs beside and a plain message) before anything is
written.

A practice user's invitation is bound to the practitioner and the practice. Its link token is
derived from the invitation's UUID under a key derived from ``SECRET_KEY``, and only its keyed
digest is stored, so the worker can write the email (``tasks.send_practice_invitation``, on the
database queue in the invitation's transaction) without the token ever being kept. The email
names only the practice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Model, Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from carethread.accounts import actions, invitations
from carethread.accounts.models import Invitation, User
from carethread.audit import codes
from carethread.audit.actions import record
from carethread.core.models import Membership, Organization, Practitioner

log = logging.getLogger(__name__)

# right -> (the Membership field, the privilege's name in the audit entry)
RIGHTS = {
    "admin": ("is_admin", "practice_admin"),
    "auditor": ("is_auditor", "auditor"),
    "emergency_access": ("emergency_access", "emergency_access"),
}


class PracticeUserError(Exception):
    """A refused change: ``field`` is the form field the message belongs beside ("" for the
    whole form)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class NewPerson:
    """Who is added: an imported ``practitioner`` (without a login), or an NPI (matching an
    existing practitioner, or a new one made from the names) with an email address."""

    role: str
    email: str = ""
    npi: str = ""
    given_name: str = ""
    family_name: str = ""
    practitioner: Practitioner | None = None


def _record(
    code: str,
    actor: User | None,
    request: HttpRequest | None,
    obj: Model,
    details: Mapping[str, object],
    *,
    patient: Model | None = None,
) -> None:
    """Audit a change to a practice's users: who made it, on what, and its codes and counts."""
    record(code, actor=actor, request=request, patient=patient, obj=obj, details=details)


def _email_taken(address: str, practitioner: Practitioner | None) -> bool:
    """A login has this address, or another practitioner's open invitation went to it."""
    if not address:
        return False
    users = User.objects.filter(email__iexact=address)
    if practitioner is not None and practitioner.user_id is not None:
        users = users.exclude(pk=practitioner.user_id)
    if users.exists():
        return True
    others = Invitation.objects.filter(
        practitioner__email__iexact=address, used_at=None, revoked_at=None
    )
    if practitioner is not None:
        others = others.exclude(practitioner=practitioner)
    return others.exists()


def _practitioner_for(org: Organization, person: NewPerson) -> Practitioner:
    """The practitioner to add (existing or new, unsaved when new); refusals name the field."""
    if person.practitioner is not None:
        found = person.practitioner
        if found.user_id is not None:
            raise PracticeUserError("practitioner", "This person already has a login.")
        if Membership.objects.filter(practitioner=found, organization=org, active=False).exists():
            raise PracticeUserError("practitioner", "This person was deactivated: reactivate.")
        if (
            Membership.objects.filter(practitioner=found, organization=org, active=True).exists()
            and Invitation.objects.filter(
                practitioner=found, used_at=None, revoked_at=None, expires_at__gt=timezone.now()
            ).exists()
        ):
            raise PracticeUserError("practitioner", "This person is already a member, invited.")
        return found
    existing = Practitioner.objects.filter(npi=person.npi).first() if person.npi else None
    if existing is not None:
        if Membership.objects.filter(practitioner=existing, organization=org).exists():
            raise PracticeUserError("npi", "Someone with this NPI is already a member here.")
        return existing
    if not person.family_name:
        raise PracticeUserError("family_name", "Enter the family name.")
    return Practitioner(
        npi=person.npi or None,
        given_name=person.given_name,
        family_name=person.family_name,
        email=person.email,
    )


def add_practice_user(
    org: Organization, person: NewPerson, *, actor: User, request: HttpRequest | None = None
) -> tuple[Membership, Invitation | None]:
    """Add a clinician or a staff member to ``org`` and invite them when they have no login.

    A practitioner already known (by NPI, or picked from the imported ones) gets a membership
    here; none is made twice. Someone who has a login already (a member of another practice)
    can work here at once and is not invited. Refused (nothing written): a member added twice,
    an address a login or another person's invitation uses, no address for someone to invite.
    """
    if person.role not in Membership.Role.values:
        raise PracticeUserError("role", "Choose clinician or staff.")
    with transaction.atomic():
        practitioner = _practitioner_for(org, person)
        address = person.email.strip() or practitioner.email.strip()
        if _email_taken(address, practitioner if practitioner.pk else None):
            raise PracticeUserError("email", "This email address is already in use.")
        if practitioner.user_id is None and not address:
            raise PracticeUserError("email", "Enter the email address the invitation goes to.")
        new = practitioner.pk is None
        if new:
            practitioner.save()
        elif practitioner.user_id is None and address != practitioner.email:
            Practitioner.objects.filter(pk=practitioner.pk).update(email=address)
            practitioner.email = address
        membership, created = Membership.objects.get_or_create(
            practitioner=practitioner, organization=org, defaults={"role": person.role}
        )
        if not created:
            Membership.objects.filter(pk=membership.pk).update(role=person.role, active=True)
        _record(
            codes.MEMBERSHIP_ADDED,
            actor,
            request,
            membership,
            {
                "role": person.role,
                "practitioner": str(practitioner.uuid),
                "new_practitioner": new,
                "has_login": practitioner.user_id is not None,
            },
        )
        invitation = None
        if practitioner.user_id is None:
            invitation = invite(practitioner, org, actor=actor, request=request)
    membership.refresh_from_db()
    return membership, invitation


def invitation_token(invitation: Invitation) -> str:
    """The link token of a practice user's invitation (derived; never stored)."""
    value = salted_hmac("carethread.invitation.practice_link", str(invitation.uuid))
    return value.hexdigest()


def invite(
    practitioner: Practitioner,
    org: Organization,
    *,
    actor: User | None,
    request: HttpRequest | None = None,
) -> Invitation:
    """A single-use, expiring invitation for ``practitioner`` to join ``org``, emailed to their
    address by the worker; earlier open invitations of theirs are revoked."""
    if practitioner.user_id is not None:
        raise PracticeUserError("", "This person already has a login.")
    address = practitioner.email.strip()
    if not address:
        raise PracticeUserError("email", "Enter the email address the invitation goes to.")
    from carethread.accounts.tasks import send_practice_invitation

    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(practitioner=practitioner, used_at=None, revoked_at=None).update(
            revoked_at=now
        )
        invitation = Invitation(
            uuid=uuid.uuid4(),
            practitioner=practitioner,
            organization=org,
            email_hash=invitations.email_digest(address),
            created_at=now,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            expires_at=now + dt.timedelta(days=settings.CARETHREAD_INVITATION_DAYS),
        )
        invitation.token_hash = invitations.token_digest(invitation_token(invitation))
        invitation.save()
        _record(
            codes.INVITATION_CREATED,
            actor,
            request,
            invitation,
            {"for": "practice_user", "emailed": True},
        )
        send_practice_invitation.enqueue(invitation.pk)
    return invitation


def send_invitation_mail(invitation_id: int) -> bool:
    """Write and send a practice user's invitation email (the worker's task); nothing for an
    invitation no longer usable. False when the mail server refused or could not be reached
    (logged without the address)."""
    invitation = (
        Invitation.objects.select_related("practitioner", "organization")
        .filter(pk=invitation_id, practitioner__isnull=False)
        .first()
    )
    if invitation is None or not invitation.is_usable() or invitation.practitioner is None:
        return False
    link = settings.CARETHREAD_BASE_URL + reverse(
        "practice_join_link", args=[invitation_token(invitation)]
    )
    org = invitation.organization
    context = {
        "practice": org.name if org is not None else "",
        "link": link,
        "expires_at": invitation.expires_at,
    }
    subject = render_to_string("accounts/email/practice_invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/practice_invitation_message.txt", context)
    address = invitation.practitioner.email
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]).send()
    except OSError:  # smtplib.SMTPException is an OSError
        log.warning("Invitation %s could not be emailed", invitation.uuid)
        return False
    return True


def find_invitation(token: str) -> Invitation | None:
    """The usable practice-user invitation of a link token, else None."""
    found = (
        Invitation.objects.select_related("practitioner", "organization")
        .filter(token_hash=invitations.token_digest(token), practitioner__isnull=False)
        .first()
    )
    return found if found is not None and found.is_usable() else None


def accept(invitation: Invitation, password: str, *, request: HttpRequest | None = None) -> User:
    """Make the invited practitioner's login with ``password`` at the address the invitation
    was sent to; ``actions.EnrolmentError("invalid")`` when it cannot be used any more (used,
    revoked, expired, the address changed or taken since)."""
    with transaction.atomic():
        inv = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("practitioner", "created_by")
            .get(pk=invitation.pk)
        )
        practitioner = inv.practitioner
        if (
            practitioner is None
            or not inv.is_usable()
            or practitioner.user_id is not None
            or invitations.email_digest(practitioner.email) != inv.email_hash
            or User.objects.filter(email__iexact=practitioner.email.strip()).exists()
        ):
            raise actions.EnrolmentError("invalid")
        user = actions.create_user(
            practitioner.email.strip(), password, practitioner=practitioner, request=request
        )
        inv.used_at = timezone.now()
        inv.save(update_fields=["used_at"])
        _record(
            codes.INVITATION_USED,
            user,
            request,
            inv,
            {
                "for": "practice_user",
                "created_by": str(inv.created_by.uuid) if inv.created_by is not None else None,
            },
        )
    return user


def revoke_invitation(
    invitation: Invitation, *, actor: User, request: HttpRequest | None = None
) -> bool:
    """Revoke an open invitation (a patient's, a representative's or a practice user's);
    False when it was used or revoked already."""
    with transaction.atomic():
        changed = Invitation.objects.filter(pk=invitation.pk, used_at=None, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        if changed:
            _record(
                codes.INVITATION_REVOKED,
                actor,
                request,
                invitation,
                {"for": _kind(invitation)},
                patient=invitation.patient,
            )
    invitation.refresh_from_db(fields=["revoked_at"])
    return bool(changed)


def _kind(invitation: Invitation) -> str:
    if invitation.practitioner_id is not None:
        return "practice_user"
    return "representative" if invitation.representative_id is not None else "patient"


def _locked_admins(org: Organization) -> list[int]:
    """The ids of ``org``'s working administrators, their rows locked until commit."""
    return list(
        Membership.objects.select_for_update()
        .filter(organization=org, is_admin=True, active=True, practitioner__active=True)
        .values_list("pk", flat=True)
    )


def set_right(
    membership: Membership,
    right: str,
    granted: bool,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> bool:
    """Grant or withdraw a right (``RIGHTS``) of a member: a privilege change audited with the
    old and new value, who changed it and for whom. The last administrator of a practice keeps
    the right. Returns whether anything changed."""
    field, privilege = RIGHTS[right]
    with transaction.atomic():
        row = Membership.objects.select_for_update().get(pk=membership.pk)
        old = bool(getattr(row, field))
        if old == granted:
            return False
        if right == "admin" and not granted and _locked_admins(row.organization) == [row.pk]:
            raise PracticeUserError("admin", "A practice keeps at least one administrator.")
        Membership.objects.filter(pk=row.pk).update(**{field: granted})
        setattr(membership, field, granted)
        _record(
            codes.USER_PRIVILEGE_CHANGED,
            actor,
            request,
            membership,
            {
                "privilege": privilege,
                "granted": granted,
                "old": old,
                "new": granted,
                "practitioner": str(row.practitioner.uuid),
            },
        )
    return True


def set_active(
    membership: Membership,
    active: bool,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> bool:
    """Deactivate or reactivate a member of a practice (audited).

    Deactivated, the membership stops working; when it was the practitioner's last active
    one, the practitioner and their login stop too (``User.is_active``): an open session ends
    at its next request and API tokens answer 401. Refused: deactivating oneself or the last
    administrator. Returns whether anything changed.
    """
    with transaction.atomic():
        row = (
            Membership.objects.select_for_update()
            .select_related("practitioner", "organization")
            .get(pk=membership.pk)
        )
        practitioner = row.practitioner
        if row.active == active and (not active or practitioner.active):
            return False
        if not active:
            if practitioner.user_id is not None and practitioner.user_id == actor.pk:
                raise PracticeUserError("", "You cannot deactivate yourself.")
            if row.is_admin and _locked_admins(row.organization) == [row.pk]:
                raise PracticeUserError("", "A practice keeps at least one administrator.")
        Membership.objects.filter(pk=row.pk).update(active=active)
        others = practitioner.memberships.filter(active=True).exclude(pk=row.pk).exists()
        whole = active or not others
        if whole:
            Practitioner.objects.filter(pk=practitioner.pk).update(active=active)
            if practitioner.user_id is not None:
                User.objects.filter(pk=practitioner.user_id).update(is_active=active)
        if not active:
            Invitation.objects.filter(
                Q(practitioner=practitioner, organization=row.organization),
                used_at=None,
                revoked_at=None,
            ).update(revoked_at=timezone.now())
        _record(
            codes.USER_REACTIVATED if active else codes.USER_DEACTIVATED,
            actor,
            request,
            row,
            {
                "practitioner": str(practitioner.uuid),
                "login": practitioner.user_id is not None and whole,
            },
        )
    membership.active = active
    return True
