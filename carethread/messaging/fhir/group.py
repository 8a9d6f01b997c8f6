"""Group → core.CareTeamPool: a care-team pool (shared inbox) of a practice and its members.

Read: ``name`` (required), ``managingEntity`` (the Organization, required), ``active``,
``member.entity`` (Practitioner, or PractitionerRole for its practitioner; members marked
``inactive`` are left out). ``type``, when given, must be ``practitioner``: other groups
(cohorts of patients) are not pools. A pool is matched by (organisation, name), else by source
key; its member list is made equal to the Group's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from carethread.core.fhir_import import values
from carethread.core.fhir_import.insert import insert_rows
from carethread.core.fhir_import.records import Record, repeated
from carethread.core.fhir_import.upsert import chunks, upsert
from carethread.core.models import CareTeamPool
from carethread.messaging.fhir.refs import practitioner_ids

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer
    from carethread.core.json import JsonObject

RESOURCE_TYPE = "Group"
DEPENDS_ON = ("Organization", "Practitioner", "PractitionerRole")
MODEL = CareTeamPool
MEMBER_TYPES = ("Practitioner", "PractitionerRole")


@dataclass(slots=True, kw_only=True)
class GroupRecord(Record):
    organization: str
    name: str
    active: bool
    members: tuple[str, ...]


def parse(resource: JsonObject, issues: list[str]) -> GroupRecord | None:
    kind = resource.get("type")
    if kind is not None and kind != "practitioner":
        issues.append(
            f"Group type {kind!r} is not read: only care-team pools (type practitioner) are"
        )
    name = values.text(resource.get("name"), "name", issues, 100, required=True)
    organization = values.reference(resource.get("managingEntity"), "managingEntity", issues)
    if "managingEntity" not in resource:
        issues.append("managingEntity (the practice) is missing")
    active = values.boolean(resource.get("active"), "active", issues)
    members: set[str] = set()
    entries = resource.get("member") or []
    if not isinstance(entries, list):
        issues.append("member must be a list")
        entries = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            issues.append(f"member[{index}] must be an object")
            continue
        if values.boolean(entry.get("inactive"), f"member[{index}].inactive", issues, False):
            continue
        ref = values.reference(entry.get("entity"), f"member[{index}].entity", issues)
        if ref is not None:
            members.add(ref)
    if issues or organization is None:
        return None
    return GroupRecord(
        organization=organization, name=name, active=active, members=tuple(sorted(members))
    )


def references(record: GroupRecord) -> list[tuple[str, str, tuple[str, ...]]]:
    refs: list[tuple[str, str, tuple[str, ...]]] = [
        ("managingEntity", record.organization, ("Organization",))
    ]
    refs.extend(("member.entity", member, MEMBER_TYPES) for member in record.members)
    return refs


def business_key(record: GroupRecord) -> None:
    return None


def check(records: list[GroupRecord], ctx: Importer) -> list[tuple[GroupRecord, str]]:
    """One pool per organisation and name."""
    return repeated(
        records,
        lambda r: (ctx.canonical(r.organization), r.name),
        "is a pool of the same practice and name",
    )


def write(records: list[GroupRecord], ctx: Importer) -> tuple[int, int]:
    outcome = upsert(
        MODEL,
        records,
        ctx,
        fields=("organization_id", "name", "active", "description"),
        values=lambda r: (ctx.pk(r.organization), r.name, r.active, ""),
        match=("organization_id", "name"),
        keep_if_set=("description",),
    )
    people = practitioner_ids({m for r in records for m in r.members}, ctx)
    wanted = {int(r.pk or 0): {people[m] for m in r.members} for r in records}
    through = CareTeamPool.members.through
    stored: dict[int, set[int]] = {}
    for part in chunks([r.pk for r in (*outcome.updated, *outcome.unchanged)]):
        rows = through.objects.filter(careteampool_id__in=part)
        for pool_id, practitioner_id in rows.values_list("careteampool_id", "practitioner_id"):
            stored.setdefault(pool_id, set()).add(practitioner_id)
    add: list[tuple[int, int]] = []
    changed: set[int] = set()
    for pool_id, members in wanted.items():
        have = stored.get(pool_id, set())
        if members != have:
            changed.add(pool_id)
            add.extend((pool_id, p) for p in sorted(members - have))
            if have - members:
                through.objects.filter(
                    careteampool_id=pool_id, practitioner_id__in=have - members
                ).delete()
    insert_rows(through, ("careteampool_id", "practitioner_id"), add)
    created, updated = outcome.counts
    return created, updated + sum(1 for r in outcome.unchanged if r.pk in changed)
