"""Patient → core.Patient, matched by MRN (``identifier[0].value``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carethread.core.fhir_import import values
from carethread.core.fhir_import.records import Record
from carethread.core.fhir_import.upsert import upsert
from carethread.core.models import Patient

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

RESOURCE_TYPE = "Patient"
DEPENDS_ON = ("Organization",)
MODEL = Patient


@dataclass(slots=True, kw_only=True)
class PatientRecord(Record):
    mrn: str
    family_name: str
    given_name: str
    birth_date: dt.date
    email: str
    active: bool
    organization: str | None


def parse(resource: dict[str, Any], issues: list[str]) -> PatientRecord | None:
    identifiers = resource.get("identifier")
    first = identifiers[0] if isinstance(identifiers, list) and identifiers else None
    mrn = values.text(
        first.get("value") if isinstance(first, dict) else None,
        "identifier[0].value (MRN)",
        issues,
        64,
        required=True,
    )
    family, given, _prefix = values.person_name(resource.get("name"), issues)
    birth_date = values.date(resource.get("birthDate"), "birthDate", issues)
    if "birthDate" not in resource:
        issues.append("birthDate is missing")
    email = values.email(resource.get("telecom"), "telecom", issues)
    active = values.boolean(resource.get("active"), "active", issues)
    organization = values.reference(
        resource.get("managingOrganization"), "managingOrganization", issues
    )
    if issues or birth_date is None:
        return None
    return PatientRecord(
        mrn=mrn,
        family_name=family,
        given_name=given,
        birth_date=birth_date,
        email=email,
        active=active,
        organization=organization,
    )


def references(record: PatientRecord) -> list[tuple[str, str, tuple[str, ...]]]:
    if record.organization is None:
        return []
    return [("managingOrganization", record.organization, ("Organization",))]


def business_key(record: PatientRecord) -> tuple[str, str]:
    return "MRN", record.mrn


FIELDS = (
    "mrn",
    "family_name",
    "given_name",
    "birth_date",
    "email",
    "active",
    "managing_organization_id",
)


def write(records: list[PatientRecord], ctx: Importer) -> tuple[int, int]:
    def row(r: PatientRecord) -> tuple[Any, ...]:
        organization = ctx.pk(r.organization) if r.organization else None
        return (r.mrn, r.family_name, r.given_name, r.birth_date, r.email, r.active, organization)

    return upsert(MODEL, records, ctx, fields=FIELDS, values=row, match=("mrn",)).counts
