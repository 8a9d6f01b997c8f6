"""Reads with permission checks for the accounts pages. Missing and forbidden give the same 404."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from carethread.accounts import roles
from carethread.accounts.models import Invitation
from carethread.core.models import Membership, Organization, Patient, Representative

if TYPE_CHECKING:
    from carethread.accounts.models import User

Row = TypeVar("Row", bound=Model)


def _organizations_with(user: User | AnonymousUser, right: str) -> QuerySet[Organization]:
    """Organisations where the user (an active practitioner) has an active membership with
    ``right`` (a Membership flag: ``is_admin``, ``is_auditor``)."""
    practitioner = roles.practitioner_of(user)
    if practitioner is None or not practitioner.active:
        return Organization.objects.none()
    return Organization.objects.filter(
        memberships__practitioner=practitioner,
        memberships__active=True,
        **{f"memberships__{right}": True},
    ).distinct()


def admin_organizations(user: User | AnonymousUser) -> QuerySet[Organization]:
    """Organisations the user administers (an active admin membership of an active practitioner)."""
    return _organizations_with(user, "is_admin")


def audited_organizations(user: User | AnonymousUser) -> QuerySet[Organization]:
    """Organisations whose audit report the user reads (an active auditor membership of an
    active practitioner)."""
    return _organizations_with(user, "is_auditor")


def require_auditor(user: User) -> list[Organization]:
    """The organisations ``user`` audits; ``Http404`` if none (the same as a missing page)."""
    orgs = list(audited_organizations(user).order_by("name", "pk"))
    if not orgs:
        raise Http404
    return orgs


def one_of(rows: QuerySet[Row], row_uuid: UUID | str) -> Row:
    """The row of ``rows`` (what the caller may reach) with ``row_uuid``; ``Http404`` for any
    other, missing, forbidden and malformed alike."""
    try:
        row = rows.filter(uuid=row_uuid).first()
    except (ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if row is None:
        raise Http404
    return row


def access_admin_organization(user: User, org_uuid: UUID | str) -> Organization:
    """One organisation ``user`` administers, by UUID; ``Http404`` for any other."""
    return one_of(admin_organizations(user), org_uuid)


def require_practice_admin(user: User) -> QuerySet[Organization]:
    orgs = admin_organizations(user)
    if not orgs.exists():
        raise Http404
    return orgs


def practice_of(patient: Patient) -> Organization | None:
    """The patient's practice: the managing organisation, else where they were seen last."""
    if patient.managing_organization_id is not None:
        return patient.managing_organization
    encounter = patient.encounters.select_related("organization").order_by("-start").first()
    return encounter.organization if encounter is not None else None


def practices_to_call(user: User) -> list[Organization]:
    """The practices of the patient a login is, and of the patients it represents: whom a
    person whose portal access is blocked can telephone (each once, by name)."""
    patients = list(roles.represented_patients(user))
    own = roles.patient_of(user)
    if own is not None:
        patients.insert(0, own)
    found: dict[int, Organization] = {}
    for patient in patients:
        practice = practice_of(patient)
        if practice is not None:
            found.setdefault(practice.pk, practice)
    return list(found.values())


def patients_for_admin(user: User) -> QuerySet[Patient]:
    """Patients of the organisations the user administers (managed there or seen there)."""
    orgs = admin_organizations(user)
    in_org = Patient.objects.filter(
        Q(managing_organization__in=orgs) | Q(encounters__organization__in=orgs)
    ).values("pk")
    return (
        Patient.objects.filter(pk__in=in_org)
        .select_related("user", "managing_organization")
        .prefetch_related("representatives__user")
        .order_by("family_name", "given_name", "pk")
    )


def patient_for_admin(user: User, patient_uuid: UUID | str) -> Patient:
    return one_of(patients_for_admin(user), patient_uuid)


def representative_for_admin(user: User, representative_uuid: UUID | str) -> Representative:
    rows = Representative.objects.filter(patient__in=patients_for_admin(user))
    return one_of(rows.select_related("patient", "user"), representative_uuid)


def own_representatives(user: User) -> QuerySet[Representative]:
    """The signed-in patient's representatives whose authorisation has not ended (who can see,
    or may come to see, their messages). Anyone who is not a patient has none."""
    patient = roles.patient_of(user)
    if patient is None or getattr(user, "blocked_at", None) is not None:
        return Representative.objects.none()
    now = timezone.now()
    return (
        Representative.objects.filter(patient=patient, active=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=now))
        .select_related("user")
        .order_by("family_name", "given_name", "pk")
    )


def own_representative(user: User, representative_uuid: UUID | str) -> Representative:
    """One of ``own_representatives``, else ``Http404`` (the same for missing and forbidden)."""
    return one_of(own_representatives(user), representative_uuid)


def members_for_admin(user: User, org: Organization) -> QuerySet[Membership]:
    """The memberships of ``org`` (one ``user`` administers: ``access_admin_organization``)."""
    return Membership.objects.filter(organization=org).select_related("practitioner__user")


def member_for_admin(user: User, org: Organization, membership_uuid: UUID | str) -> Membership:
    return one_of(members_for_admin(user, org), membership_uuid)


def invitations_for_admin(user: User, org: Organization) -> QuerySet[Invitation]:
    """The invitations of ``org``: its practice users' and those of its patients (managed or
    seen there) and their representatives, newest first."""
    patients = Patient.objects.filter(
        Q(managing_organization=org) | Q(encounters__organization=org)
    ).values("pk")
    return (
        Invitation.objects.filter(Q(organization=org) | Q(patient__in=patients))
        .select_related("patient", "representative", "practitioner", "created_by__practitioner")
        .order_by("-created_at", "-pk")
    )


def invitation_for_admin(user: User, org: Organization, invitation_uuid: UUID | str) -> Invitation:
    return one_of(invitations_for_admin(user, org), invitation_uuid)
