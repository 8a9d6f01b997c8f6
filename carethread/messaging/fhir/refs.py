"""Reading checked references back: their resource type, and the practitioner behind a
PractitionerRole."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carethread.core.fhir_import.upsert import chunks
from carethread.core.fhir_import.values import reference_type
from carethread.core.models import Membership

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer


def ref_type(ref: str, ctx: Importer) -> str:
    """The resource type a reference points to (``urn:`` references through the input)."""
    target = ctx.aliases.get(ref)
    return str(target[0]) if target is not None else reference_type(ref)


def practitioner_ids(refs: set[str], ctx: Importer) -> dict[str, int]:
    """The practitioner row of each (written) Practitioner or PractitionerRole reference."""
    found: dict[str, int] = {}
    roles: dict[int, list[str]] = {}
    for ref in refs:
        if ref_type(ref, ctx) == "PractitionerRole":
            roles.setdefault(ctx.pk(ref), []).append(ref)
        else:
            found[ref] = ctx.pk(ref)
    for part in chunks(sorted(roles)):
        rows = Membership.objects.filter(pk__in=part).values_list("pk", "practitioner_id")
        for membership_id, practitioner_id in rows:
            for ref in roles[membership_id]:
                found[ref] = practitioner_id
    return found
