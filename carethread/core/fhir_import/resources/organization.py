"""Organization → core.Organization: the practice, matched by TIN."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carethread.core.fhir_import import values
from carethread.core.fhir_import.records import Record
from carethread.core.fhir_import.upsert import upsert
from carethread.core.fhir_systems import TIN_SYSTEM
from carethread.core.models import Organization
from carethread.core.validators import tin_is_valid

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

RESOURCE_TYPE = "Organization"
DEPENDS_ON: tuple[str, ...] = ()
MODEL = Organization


@dataclass(slots=True, kw_only=True)
class OrganizationRecord(Record):
    tin: str
    name: str


def parse(resource: dict[str, Any], issues: list[str]) -> OrganizationRecord | None:
    tin = values.identifier(resource.get("identifier"), TIN_SYSTEM)
    if tin is None:
        issues.append(f"identifier with system {TIN_SYSTEM} (TIN) is missing")
    elif not tin_is_valid(tin):
        issues.append(f"TIN {tin!r} is not valid (9 digits)")
    name = values.text(resource.get("name"), "name", issues, 200, required=True)
    if issues or tin is None:
        return None
    return OrganizationRecord(tin=tin, name=name)


def references(record: OrganizationRecord) -> tuple[()]:
    return ()


def business_key(record: OrganizationRecord) -> tuple[str, str]:
    return "TIN", record.tin


def write(records: list[OrganizationRecord], ctx: Importer) -> tuple[int, int]:
    return upsert(
        MODEL,
        records,
        ctx,
        fields=("tin", "name"),
        values=lambda r: (r.tin, r.name),
        match=("tin",),
    ).counts
