"""RelatedPerson → core.Representative: a patient-authorised representative (proxy).

An imported RelatedPerson that is active counts as authorised by the patient: the source EHR
recorded the authorisation. ``consent_given_at`` is set to ``period.start`` (or the import time
when there is no start) the first time the representative is imported as active, and is never
changed by a later import.

``period`` is read as FHIR R4 defines a Period: the start is the first instant its year, month,
day or time covers, the end the *last* one ("the end value includes any matching date/time"),
local dates in CARETHREAD_TIME_ZONE. ``valid_until`` stores that last instant, so every check
reads it inclusively (``sent <= valid_until``): an end of 2018-06-30 covers the whole day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carethread.core.fhir_import import values
from carethread.core.fhir_import.records import Record
from carethread.core.fhir_import.upsert import upsert
from carethread.core.models import Representative

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

RESOURCE_TYPE = "RelatedPerson"
DEPENDS_ON = ("Patient",)
MODEL = Representative


@dataclass(slots=True, kw_only=True)
class RelatedPersonRecord(Record):
    patient: str
    family_name: str
    given_name: str
    email: str
    relationship: str
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    active: bool


def parse(resource: dict[str, Any], issues: list[str]) -> RelatedPersonRecord | None:
    patient = values.required_reference(resource, "patient", issues)
    family, given, _prefix = values.person_name(resource.get("name"), issues)
    email = values.email(resource.get("telecom"), "telecom", issues)
    relationship = values.text(
        values.first_code(resource.get("relationship")), "relationship", issues, 64
    )
    period = resource.get("period") or {}
    if not isinstance(period, dict):
        issues.append("period must be a Period")
        period = {}
    start = values.period_start(period.get("start"), "period.start", issues)
    end = values.period_end(period.get("end"), "period.end", issues)
    if start and end and end < start:
        issues.append("period.end is before period.start")
    active = values.boolean(resource.get("active"), "active", issues)
    if issues or patient is None:
        return None
    return RelatedPersonRecord(
        patient=patient,
        family_name=family,
        given_name=given,
        email=email,
        relationship=relationship,
        valid_from=start,
        valid_until=end,
        active=active,
    )


def references(record: RelatedPersonRecord) -> list[tuple[str, str, tuple[str, ...]]]:
    return [("patient", record.patient, ("Patient",))]


def business_key(record: RelatedPersonRecord) -> None:
    return None


FIELDS = (
    "patient_id",
    "family_name",
    "given_name",
    "email",
    "relationship",
    "valid_from",
    "valid_until",
    "active",
    "consent_given_at",
)


def write(records: list[RelatedPersonRecord], ctx: Importer) -> tuple[int, int]:
    def row(r: RelatedPersonRecord) -> tuple[Any, ...]:
        consent = (r.valid_from or ctx.now) if r.active else None
        return (
            ctx.pk(r.patient),
            r.family_name,
            r.given_name,
            r.email,
            r.relationship,
            r.valid_from,
            r.valid_until,
            r.active,
            consent,
        )

    return upsert(
        MODEL, records, ctx, fields=FIELDS, values=row, keep_if_set=("consent_given_at",)
    ).counts
