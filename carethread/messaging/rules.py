"""The live portal's sending rules (reads only): who a patient may write to, which patients a
practice may write to. Imported history is not held to these (docs/import.md, "Secure messages")."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from carethread.core.models import (
    CareTeamPool,
    Encounter,
    Membership,
    Organization,
    Patient,
    Practitioner,
    Representative,
)

NOT_SEEN = (Encounter.Status.CANCELLED, Encounter.Status.ENTERED_IN_ERROR)


def established_memberships(patient: Patient, now: dt.datetime | None = None) -> list[Membership]:
    """Active clinician memberships (practitioner + organisation) that saw ``patient`` within
    each organisation's look-back, newest visit first, one per (practitioner, organisation)."""
    now = now or timezone.now()
    rows = (
        Encounter.objects.filter(patient=patient, organization__messaging_enabled=True)
        .exclude(status__in=NOT_SEEN)
        .filter(start__lte=now)
        .values_list(
            "organization_id",
            "organization__relationship_lookback_days",
            "participations__practitioner_id",
            "start",
        )
        .order_by("-start")
    )
    seen: dict[tuple[int, int], None] = {}
    for org_id, lookback_days, practitioner_id, start in rows:
        if practitioner_id is None or start < now - dt.timedelta(days=lookback_days):
            continue
        seen.setdefault((practitioner_id, org_id), None)
    if not seen:
        return []
    memberships = {
        (m.practitioner_id, m.organization_id): m
        for m in Membership.objects.filter(
            practitioner_id__in={p for p, _ in seen},
            organization_id__in={o for _, o in seen},
            role=Membership.Role.CLINICIAN,
            active=True,
            practitioner__active=True,
        ).select_related("practitioner", "organization")
    }
    return [memberships[key] for key in seen if key in memberships]


def patient_organizations(patient: Patient, now: dt.datetime | None = None) -> list[Organization]:
    """Organisations the patient belongs to: the managing one and those that saw them within
    their look-back."""
    now = now or timezone.now()
    orgs: dict[int, Organization] = {}
    if patient.managing_organization_id is not None and patient.managing_organization:
        orgs[patient.managing_organization_id] = patient.managing_organization
    for enc in (
        Encounter.objects.filter(patient=patient, start__lte=now)
        .exclude(status__in=NOT_SEEN)
        .select_related("organization")
        .order_by("-start")
    ):
        lookback = dt.timedelta(days=enc.organization.relationship_lookback_days)
        if enc.start >= now - lookback:
            orgs.setdefault(enc.organization_id, enc.organization)
    return list(orgs.values())


def pools_for_patient(patient: Patient, now: dt.datetime | None = None) -> QuerySet[CareTeamPool]:
    orgs = [o.pk for o in patient_organizations(patient, now) if o.messaging_enabled]
    return CareTeamPool.objects.filter(organization_id__in=orgs, active=True).select_related(
        "organization"
    )


def is_patient_of(patient: Patient, organization: Organization) -> bool:
    if patient.managing_organization_id == organization.pk:
        return True
    return Encounter.objects.filter(patient=patient, organization=organization).exists()


def valid_representatives(patient: Patient, when: dt.datetime) -> list[Representative]:
    reps = Representative.objects.filter(patient=patient, active=True).select_related("user")
    return [rep for rep in reps if rep.is_valid_at(when)]


def practice_members(organization: Organization) -> QuerySet[Practitioner]:
    return Practitioner.objects.filter(
        active=True, memberships__organization=organization, memberships__active=True
    )
