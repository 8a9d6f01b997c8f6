"""What the Communication checks need to know about the people and practices messages name,
from the input and from earlier imports: patients (MRN, managing practice, where they were
seen), representatives (whose), practitioners (which practices), roles and pools (which practice).

Practices are compared by TIN and patients by MRN, so a resource in the input and the stored
row it will update are the same thing. A practitioner is its reference (in the input) or its
row id (stored only, or reached through a stored PractitionerRole).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Model

from carethread.core.fhir_import.records import Record
from carethread.core.fhir_import.resources.encounter import EncounterRecord
from carethread.core.fhir_import.resources.practitioner_role import RoleRecord
from carethread.core.fhir_import.upsert import chunks
from carethread.core.models import (
    CareTeamPool,
    Encounter,
    Membership,
    Organization,
    Patient,
    Practitioner,
    Representative,
)
from carethread.messaging.fhir.refs import ref_type

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

PractitionerKey = str | int
NOT_A_VISIT = Encounter.Status.ENTERED_IN_ERROR.value
_R = TypeVar("_R", bound=Record)


class Facts:
    def __init__(self, ctx: Importer) -> None:
        self.ctx = ctx
        self.tin_by_pk: dict[int, str] = dict(Organization.objects.values_list("pk", "tin"))
        self.mrn_of: dict[str, str] = {}  # Patient reference -> MRN
        self.managing: dict[str, str] = {}  # MRN -> TIN
        self.visits: dict[str, dict[str, list[dt.datetime]]] = {}  # MRN -> TIN -> starts
        self.rep_patient: dict[str, str] = {}  # RelatedPerson reference -> MRN
        self.roles: dict[str, tuple[PractitionerKey, str]] = {}  # role ref -> (who, TIN)
        self.orgs_of: dict[PractitionerKey, set[str]] = defaultdict(set)
        self.pool_tin: dict[str, str] = {}  # Group reference -> TIN

    # -- helpers -------------------------------------------------------------------------
    def _input(self, ref: str) -> Any:
        target = self.ctx.aliases.get(ref)
        return target[1] if target is not None else None

    def _of_type(self, resource_type: str, kind: type[_R]) -> list[_R]:
        """The input's records of ``resource_type`` (all of them are ``kind``)."""
        return [r for r in self.ctx.records.get(resource_type, ()) if isinstance(r, kind)]

    def _stored(self, ref: str) -> int:
        return int(self.ctx.db_keys[ref])

    def _split(self, refs: set[str]) -> tuple[list[tuple[str, Any]], dict[int, list[str]]]:
        """``refs`` to records of the input (each with its record) and to stored rows (by row
        id: more than one reference may name the same row)."""
        given: list[tuple[str, Any]] = []
        stored: dict[int, list[str]] = defaultdict(list)
        for ref in refs:
            record = self._input(ref)
            if record is None:
                stored[self._stored(ref)].append(ref)
            else:
                given.append((ref, record))
        return given, stored

    @staticmethod
    def _stored_rows(
        model: type[Model], stored: dict[int, list[str]], *fields: str
    ) -> Iterator[tuple[str, Any]]:
        """(reference, ``fields`` values) of each stored row ``stored`` names, read in chunks."""
        for part in chunks(sorted(stored)):
            for pk, *values in model._default_manager.filter(pk__in=part).values_list(
                "pk", *fields
            ):
                for ref in stored[pk]:
                    yield ref, values

    def tin(self, org_ref: str) -> str:
        record = self._input(org_ref)
        return str(record.tin) if record is not None else self.tin_by_pk[self._stored(org_ref)]

    def practitioner_key(self, ref: str) -> PractitionerKey:
        return self.ctx.canonical(ref) if self._input(ref) is not None else self._stored(ref)

    # -- loading -------------------------------------------------------------------------
    def load(self, refs: Iterable[str], subjects: Iterable[str]) -> Facts:
        """Read what is known about ``refs`` (senders, recipients, on-behalf-of) and the
        subject patients."""
        by_type: dict[str, set[str]] = defaultdict(set)
        for ref in {*refs, *subjects}:
            by_type[ref_type(ref, self.ctx)].add(ref)
        for ref in by_type["RelatedPerson"]:
            record = self._input(ref)
            if record is not None:
                by_type["Patient"].add(record.patient)
        self._patients(by_type["Patient"])
        self._representatives(by_type["RelatedPerson"])
        self._visits(set(self.mrn_of[ref] for ref in subjects))
        self._roles(by_type["PractitionerRole"])
        self._memberships(
            {self.practitioner_key(r) for r in by_type["Practitioner"]}
            | {who for who, _tin in self.roles.values()}
        )
        self._pools(by_type["Group"])
        return self

    def _patients(self, refs: set[str]) -> None:
        given, stored = self._split(refs)
        for ref, record in given:
            self.mrn_of[ref] = record.mrn
            if record.organization is not None:
                self.managing[record.mrn] = self.tin(record.organization)
        for ref, (mrn, tin) in self._stored_rows(
            Patient, stored, "mrn", "managing_organization__tin"
        ):
            self.mrn_of[ref] = mrn
            if tin is not None:
                self.managing.setdefault(mrn, tin)

    def _representatives(self, refs: set[str]) -> None:
        given, stored = self._split(refs)
        for ref, record in given:
            self.rep_patient[ref] = self.mrn_of[record.patient]
        for ref, (mrn,) in self._stored_rows(Representative, stored, "patient__mrn"):
            self.rep_patient[ref] = mrn

    def _visits(self, mrns: set[str]) -> None:
        """Where (TIN) and when each subject patient was seen: input and stored encounters."""
        for record in self._of_type("Encounter", EncounterRecord):
            if record.status == NOT_A_VISIT:
                continue
            mrn = self._encounter_mrn(record.patient)
            if mrn in mrns:
                by_tin = self.visits.setdefault(mrn, {})
                by_tin.setdefault(self.tin(record.organization), []).append(record.start)
        if not Encounter.objects.exists():
            return
        mrn_of_pk: dict[int, str] = {}
        for part in chunks(sorted(mrns)):
            mrn_of_pk.update(Patient.objects.filter(mrn__in=part).values_list("pk", "mrn"))
        for part in chunks(sorted(mrn_of_pk)):
            rows = (
                Encounter.objects.filter(patient_id__in=part)
                .exclude(status=NOT_A_VISIT)
                .values_list("patient_id", "organization_id", "start")
            )
            for patient_id, organization_id, start in rows:
                by_tin = self.visits.setdefault(mrn_of_pk[patient_id], {})
                by_tin.setdefault(self.tin_by_pk[organization_id], []).append(start)

    def _encounter_mrn(self, ref: str) -> str | None:
        known = self.mrn_of.get(ref)
        if known is not None:
            return known
        record = self._input(ref)
        return str(record.mrn) if record is not None else None

    def _roles(self, refs: set[str]) -> None:
        given, stored = self._split(refs)
        for ref, record in given:
            key = self.practitioner_key(record.practitioner)
            self.roles[ref] = (key, self.tin(record.organization))
        for ref, (practitioner_id, tin) in self._stored_rows(
            Membership, stored, "practitioner_id", "organization__tin"
        ):
            self.roles[ref] = (practitioner_id, tin)

    def _memberships(self, keys: set[PractitionerKey]) -> None:
        """Every practice each practitioner belongs to (input roles and stored memberships)."""
        for record in self._of_type("PractitionerRole", RoleRecord):
            key = self.practitioner_key(record.practitioner)
            if key in keys:
                self.orgs_of[key].add(self.tin(record.organization))
        if not Membership.objects.exists():
            return
        rows_of: dict[int, PractitionerKey] = {k: k for k in keys if isinstance(k, int)}
        in_input = {k: self._input(k) for k in keys if isinstance(k, str)}
        for part in chunks(sorted(in_input)):
            for pk, source_key in Practitioner.objects.filter(source_key__in=part).values_list(
                "pk", "source_key"
            ):
                rows_of[pk] = str(source_key)
        npis = {r.npi: k for k, r in in_input.items() if r is not None and r.npi}
        for part in chunks(sorted(npis)):
            for pk, npi in Practitioner.objects.filter(npi__in=part).values_list("pk", "npi"):
                rows_of.setdefault(pk, npis[npi])
        for part in chunks(sorted(rows_of)):
            rows = Membership.objects.filter(practitioner_id__in=part).values_list(
                "practitioner_id", "organization__tin"
            )
            for practitioner_id, tin in rows:
                self.orgs_of[rows_of[practitioner_id]].add(tin)

    def _pools(self, refs: set[str]) -> None:
        given, stored = self._split(refs)
        for ref, record in given:
            self.pool_tin[ref] = self.tin(record.organization)
        for ref, (tin,) in self._stored_rows(CareTeamPool, stored, "organization__tin"):
            self.pool_tin[ref] = tin
