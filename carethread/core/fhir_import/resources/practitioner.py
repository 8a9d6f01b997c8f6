"""Practitioner → core.Practitioner: clinicians (with NPI) and staff, matched by NPI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carethread.core.fhir_import import values
from carethread.core.fhir_import.records import Record
from carethread.core.fhir_import.upsert import upsert
from carethread.core.fhir_systems import NPI_SYSTEM
from carethread.core.models import Practitioner
from carethread.core.validators import npi_is_valid

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

RESOURCE_TYPE = "Practitioner"
DEPENDS_ON: tuple[str, ...] = ()
MODEL = Practitioner


@dataclass(slots=True, kw_only=True)
class PractitionerRecord(Record):
    npi: str | None
    family_name: str
    given_name: str
    prefix: str
    email: str
    active: bool


def parse(resource: dict[str, Any], issues: list[str]) -> PractitionerRecord | None:
    npi = values.identifier(resource.get("identifier"), NPI_SYSTEM)
    if npi is not None and not npi_is_valid(npi):
        issues.append(f"NPI {npi!r} is not valid (10 digits with a Luhn check digit)")
    family, given, prefix = values.person_name(resource.get("name"), issues)
    values.text(prefix, "name.prefix", issues, 20)
    email = values.email(resource.get("telecom"), "telecom", issues)
    active = values.boolean(resource.get("active"), "active", issues)
    if issues:
        return None
    return PractitionerRecord(
        npi=npi, family_name=family, given_name=given, prefix=prefix, email=email, active=active
    )


def references(record: PractitionerRecord) -> tuple[()]:
    return ()


def business_key(record: PractitionerRecord) -> tuple[str, str] | None:
    return ("NPI", record.npi) if record.npi else None


FIELDS = ("npi", "family_name", "given_name", "prefix", "email", "active")


def write(records: list[PractitionerRecord], ctx: Importer) -> tuple[int, int]:
    return upsert(
        MODEL,
        records,
        ctx,
        fields=FIELDS,
        values=lambda r: (r.npi, r.family_name, r.given_name, r.prefix, r.email, r.active),
        match=("npi",),
    ).counts
