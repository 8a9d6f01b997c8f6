"""PractitionerRole → core.Membership: a practitioner's role (clinician or staff) in a practice.

Matched by source key, else by the (practitioner, organization) pair, which is unique.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carethread.core.fhir_import import values
from carethread.core.fhir_import.records import Record, repeated
from carethread.core.fhir_import.upsert import upsert
from carethread.core.fhir_systems import ROLE_SYSTEM
from carethread.core.models import Membership

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

RESOURCE_TYPE = "PractitionerRole"
DEPENDS_ON = ("Practitioner", "Organization")
MODEL = Membership
ROLES = {choice.value for choice in Membership.Role}


@dataclass(slots=True, kw_only=True)
class RoleRecord(Record):
    practitioner: str
    organization: str
    role: str
    active: bool


def parse(resource: dict[str, Any], issues: list[str]) -> RoleRecord | None:
    practitioner = values.required_reference(resource, "practitioner", issues)
    organization = values.required_reference(resource, "organization", issues)
    role = values.coding_code(resource.get("code"), ROLE_SYSTEM)
    if role is None:
        issues.append(f"code with system {ROLE_SYSTEM} (clinician or staff) is missing")
    elif role not in ROLES:
        issues.append(f"code {role!r} of system {ROLE_SYSTEM} is not clinician or staff")
    active = values.boolean(resource.get("active"), "active", issues)
    if issues or practitioner is None or organization is None or role is None:
        return None
    return RoleRecord(
        practitioner=practitioner, organization=organization, role=role, active=active
    )


def references(record: RoleRecord) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        ("practitioner", record.practitioner, ("Practitioner",)),
        ("organization", record.organization, ("Organization",)),
    ]


def business_key(record: RoleRecord) -> None:
    return None


def check(records: list[RoleRecord], ctx: Importer) -> list[tuple[RoleRecord, str]]:
    """One membership per practitioner and organization."""
    return repeated(
        records,
        lambda r: (ctx.canonical(r.practitioner), ctx.canonical(r.organization)),
        "already links this practitioner and organization",
    )


def write(records: list[RoleRecord], ctx: Importer) -> tuple[int, int]:
    return upsert(
        MODEL,
        records,
        ctx,
        fields=("practitioner_id", "organization_id", "role", "active"),
        values=lambda r: (ctx.pk(r.practitioner), ctx.pk(r.organization), r.role, r.active),
        match=("practitioner_id", "organization_id"),
    ).counts
