"""Reads with permission checks for the accounts pages. Missing and forbidden give the same 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from carethread.accounts import roles
from carethread.core.models import Organization, Patient, Representative


def admin_organizations(user: Any) -> QuerySet[Organization]:
    """Organisations the user administers (an active admin membership of an active practitioner)."""
    practitioner = roles.practitioner_of(user)
    if practitioner is None or not practitioner.active:
        return Organization.objects.none()
    return Organization.objects.filter(
        memberships__practitioner=practitioner,
        memberships__active=True,
        memberships__is_admin=True,
    ).distinct()


def require_practice_admin(user: Any) -> QuerySet[Organization]:
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


def patients_for_admin(user: Any) -> QuerySet[Patient]:
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


def patient_for_admin(user: Any, patient_uuid: Any) -> Patient:
    patient = patients_for_admin(user).filter(uuid=patient_uuid).first()
    if patient is None:
        raise Http404
    return patient


def representative_for_admin(user: Any, representative_uuid: Any) -> Representative:
    rep = (
        Representative.objects.filter(
            uuid=representative_uuid, patient__in=patients_for_admin(user)
        )
        .select_related("patient", "user")
        .first()
    )
    if rep is None:
        raise Http404
    return rep


def own_representatives(user: Any) -> QuerySet[Representative]:
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


def own_representative(user: Any, representative_uuid: Any) -> Representative:
    """One of ``own_representatives``, else ``Http404`` (the same for missing and forbidden)."""
    try:
        rep = own_representatives(user).filter(uuid=representative_uuid).first()
    except (ValueError, ValidationError) as exc:
        raise Http404 from exc
    if rep is None:
        raise Http404
    return rep
