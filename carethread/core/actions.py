"""Writes to core data (practices, people, visits, care-team pools), each in one transaction
with its audit entry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.http import HttpRequest

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import CareTeamPool, Organization, Practitioner

if TYPE_CHECKING:
    from carethread.accounts.models import User
    from carethread.core.fhir_import.engine import Importer
    from carethread.core.fhir_import.records import ImportSummary


def import_fhir(importer: Importer) -> ImportSummary:
    """Write the checked records of one import in dependency order, then the ``fhir.import``
    audit event (counts only). Any failure rolls everything back."""
    from carethread.core.fhir_import.records import TypeCounts
    from carethread.core.fhir_import.registry import write_order

    summary = importer.summary
    with transaction.atomic():
        for handler in write_order():
            records = importer.records.get(handler.RESOURCE_TYPE)
            if not records:
                continue
            created, updated = handler.write(records, importer)
            summary.counts[handler.RESOURCE_TYPE] = TypeCounts(
                read=len(records),
                created=created,
                updated=updated,
                unchanged=len(records) - created - updated,
            )
        audit.record(
            codes.FHIR_IMPORT,
            actor_role="system",
            object_type="fhir.import",
            details=summary.for_audit(),
        )
    return summary


def create_pool(
    organization: Organization,
    *,
    name: str,
    description: str = "",
    members: Iterable[Practitioner] = (),
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> CareTeamPool:
    """A shared inbox of ``organization`` with its first members."""
    with transaction.atomic():
        pool = CareTeamPool.objects.create(
            organization=organization, name=name, description=description
        )
        pool.members.set(list(members))
        audit.record(
            codes.POOL_CREATE,
            actor=actor,
            actor_role=None if actor is not None else "system",
            request=request,
            obj=pool,
            details={"organization": str(organization.uuid), "members": pool.members.count()},
        )
    return pool
