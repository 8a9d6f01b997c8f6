"""Location → core.Location: place of service, state and county, the managing practice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carethread.core.fhir_import import values
from carethread.core.fhir_import.records import Record
from carethread.core.fhir_import.upsert import upsert
from carethread.core.fhir_systems import POS_SYSTEM
from carethread.core.models import Location
from carethread.core.validators import POS_RE

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

RESOURCE_TYPE = "Location"
DEPENDS_ON = ("Organization",)
MODEL = Location


@dataclass(slots=True, kw_only=True)
class LocationRecord(Record):
    organization: str
    name: str
    pos_code: str
    state: str
    county: str


def parse(resource: dict[str, Any], issues: list[str]) -> LocationRecord | None:
    name = values.text(resource.get("name"), "name", issues, 200)
    pos = values.coding_code(resource.get("type"), POS_SYSTEM)
    if pos is None:
        issues.append("type has no place-of-service code (system " + POS_SYSTEM + ")")
    elif not POS_RE.match(pos):
        issues.append(f"place-of-service code {pos!r} is not two digits")
    address = resource.get("address") or {}
    if not isinstance(address, dict):
        issues.append("address must be a single Address")
        address = {}
    state = values.text(address.get("state"), "address.state", issues, 2)
    county = values.text(address.get("district"), "address.district", issues, 100)
    organization = values.required_reference(resource, "managingOrganization", issues)
    if issues or pos is None or organization is None:
        return None
    return LocationRecord(
        organization=organization, name=name, pos_code=pos, state=state, county=county
    )


def references(record: LocationRecord) -> list[tuple[str, str, tuple[str, ...]]]:
    return [("managingOrganization", record.organization, ("Organization",))]


def business_key(record: LocationRecord) -> None:
    return None


def write(records: list[LocationRecord], ctx: Importer) -> tuple[int, int]:
    return upsert(
        MODEL,
        records,
        ctx,
        fields=("organization_id", "name", "pos_code", "state", "county"),
        values=lambda r: (ctx.pk(r.organization), r.name, r.pos_code, r.state, r.county),
    ).counts
