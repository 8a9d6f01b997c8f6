"""Encounter → core.Encounter + EncounterParticipant: who saw which patient, when, where, for
which practice. Only participants that are Practitioners are read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carethread.core.fhir_import import values
from carethread.core.fhir_import.insert import insert_rows
from carethread.core.fhir_import.records import Record
from carethread.core.fhir_import.upsert import chunks, upsert
from carethread.core.models import Encounter, EncounterParticipant

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

RESOURCE_TYPE = "Encounter"
DEPENDS_ON = ("Patient", "Organization", "Location", "Practitioner")
MODEL = Encounter
STATUSES = {choice.value for choice in Encounter.Status}


@dataclass(slots=True, kw_only=True)
class EncounterRecord(Record):
    status: str
    class_code: str
    patient: str
    organization: str
    location: str | None
    start: dt.datetime
    participants: tuple[str, ...]


def parse(resource: dict[str, Any], issues: list[str]) -> EncounterRecord | None:
    status = resource.get("status")
    if status is None:
        issues.append("status is missing")
    elif status not in STATUSES:
        issues.append(f"status {status!r} is not an Encounter status")
    klass = resource.get("class")
    class_code = values.text(
        klass.get("code") if isinstance(klass, dict) else None, "class.code", issues, 20, True
    )
    patient = values.required_reference(resource, "subject", issues)
    organization = values.required_reference(resource, "serviceProvider", issues)
    period = resource.get("period")
    start = values.datetime(
        period.get("start") if isinstance(period, dict) else None, "period.start", issues
    )
    if not isinstance(period, dict) or period.get("start") is None:
        issues.append("period.start is missing")
    location = None
    locations = resource.get("location") or []
    if locations and isinstance(locations, list) and isinstance(locations[0], dict):
        location = values.reference(locations[0].get("location"), "location[0].location", issues)
    participants = set()
    for index, participant in enumerate(resource.get("participant") or ()):
        individual = participant.get("individual") if isinstance(participant, dict) else None
        if individual is None:
            continue
        ref = values.reference(individual, f"participant[{index}].individual", issues)
        if ref and (ref.startswith("Practitioner/") or ref.startswith("urn:")):
            participants.add(ref)
    if issues or status is None or patient is None or organization is None or start is None:
        return None
    return EncounterRecord(
        status=status,
        class_code=class_code,
        patient=patient,
        organization=organization,
        location=location,
        start=start,
        participants=tuple(sorted(participants)),
    )


def references(record: EncounterRecord) -> list[tuple[str, str, tuple[str, ...]]]:
    refs: list[tuple[str, str, tuple[str, ...]]] = [
        ("subject", record.patient, ("Patient",)),
        ("serviceProvider", record.organization, ("Organization",)),
    ]
    if record.location:
        refs.append(("location.location", record.location, ("Location",)))
    refs.extend(("participant.individual", p, ("Practitioner",)) for p in record.participants)
    return refs


def business_key(record: EncounterRecord) -> None:
    return None


FIELDS = ("status", "class_code", "patient_id", "organization_id", "location_id", "start")


def write(records: list[EncounterRecord], ctx: Importer) -> tuple[int, int]:
    def row(r: EncounterRecord) -> tuple[Any, ...]:
        location = ctx.pk(r.location) if r.location else None
        return (
            r.status,
            r.class_code,
            ctx.pk(r.patient),
            ctx.pk(r.organization),
            location,
            r.start,
        )

    outcome = upsert(MODEL, records, ctx, fields=FIELDS, values=row)
    wanted = {int(r.pk or 0): {ctx.pk(p) for p in r.participants} for r in records}
    stored: dict[int, set[int]] = {}
    matched = [r.pk for r in (*outcome.updated, *outcome.unchanged)]
    for part in chunks(matched):
        pairs = EncounterParticipant.objects.filter(encounter_id__in=part)
        for encounter_id, practitioner_id in pairs.values_list("encounter_id", "practitioner_id"):
            stored.setdefault(encounter_id, set()).add(practitioner_id)
    add: list[tuple[int, int]] = []
    remove: list[tuple[int, set[int]]] = []
    changed: set[int] = set()
    for encounter_id, practitioners in wanted.items():
        have = stored.get(encounter_id, set())
        if practitioners != have:
            changed.add(encounter_id)
            add.extend((encounter_id, p) for p in practitioners - have)
            if have - practitioners:
                remove.append((encounter_id, have - practitioners))
    for encounter_id, gone in remove:
        EncounterParticipant.objects.filter(
            encounter_id=encounter_id, practitioner_id__in=gone
        ).delete()
    insert_rows(EncounterParticipant, ("encounter_id", "practitioner_id"), add)
    newly_changed = sum(1 for r in outcome.unchanged if r.pk in changed)
    created, updated = outcome.counts
    return created, updated + newly_changed
