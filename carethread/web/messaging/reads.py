"""Reads the messaging pages need besides the inbox and thread queries: whom the signed-in user
writes for, a practice user's patient by UUID or MRN (among ``messaging.access.practice_patients``),
the compose form's choices and the practice's response-time wording. Lookups by id give
``Http404`` for missing and forbidden alike.
Reads the REST API makes too (a message of a thread, a patient's recipients and organisations)
are in ``messaging.queries``; this module shapes them for the forms.
"""

from __future__ import annotations

import importlib.util
import uuid as uuid_module
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.http import Http404, HttpRequest

from carethread.accounts.models import User
from carethread.core.models import CareTeamPool, Membership, Organization, Patient, Practitioner
from carethread.messaging import queries, rules
from carethread.messaging.access import Viewer, practice_patients, viewer_for
from carethread.messaging.models import Attachment
from carethread.messaging.templates import expected_response

READING_LABELS = {
    "blood-pressure": "Blood pressure",
    "blood-glucose": "Blood glucose",
    "weight": "Weight",
}


def viewer_of(request: HttpRequest) -> Viewer:
    """The request's ``Viewer``, read once per request."""
    cached = getattr(request, "_carethread_viewer", None)
    if cached is None:
        cached = viewer_for(request.user)
        request._carethread_viewer = cached  # type: ignore[attr-defined]
    return cached


def module_ready(name: str) -> bool:
    """Whether an optional messaging module (triage workflow, attachments) is installed."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def parse_uuid(value: object) -> uuid_module.UUID:
    try:
        return uuid_module.UUID(str(value))
    except (TypeError, ValueError, AttributeError) as exc:
        raise Http404 from exc


# -- the patient side ----------------------------------------------------------------------------


def patient_side_patients(viewer: Viewer) -> list[Patient]:
    """The patients this login writes for: themselves first, then those they represent."""
    patients: list[Patient] = []
    if viewer.patient is not None:
        patients.append(viewer.patient)
    represented = sorted(
        (rep.patient for rep in viewer.representing.values()),
        key=lambda p: (p.family_name, p.given_name, p.pk),
    )
    patients.extend(p for p in represented if viewer.patient is None or p.pk != viewer.patient.pk)
    return patients


def chosen_patient(viewer: Viewer, value: str | uuid_module.UUID | None) -> Patient | None:
    """One of ``patient_side_patients`` by UUID (None for no value; 404 for any other)."""
    if value in (None, ""):
        return None
    wanted = parse_uuid(value)
    for patient in patient_side_patients(viewer):
        if patient.uuid == wanted:
            return patient
    raise Http404


@dataclass
class Recipients:
    """What a patient may write to: clinicians who saw them and the practices' pools."""

    clinicians: list[Membership]
    pools: list[CareTeamPool]

    def choices(self, whom: str = "you") -> list[tuple[str, list[tuple[str, str]]]]:
        groups: list[tuple[str, list[tuple[str, str]]]] = []
        if self.clinicians:
            groups.append(
                (
                    f"Clinicians who have seen {whom}",
                    [
                        (
                            f"c:{m.practitioner.uuid}",
                            f"{m.practitioner.display_name}, {m.organization.name}",
                        )
                        for m in self.clinicians
                    ],
                )
            )
        if self.pools:
            groups.append(
                (
                    "Care teams",
                    [(f"p:{p.uuid}", f"{p.name}, {p.organization.name}") for p in self.pools],
                )
            )
        return groups

    def resolve(self, value: str) -> tuple[Practitioner | None, CareTeamPool | None]:
        kind, _, key = value.partition(":")
        if kind == "c":
            for m in self.clinicians:
                if str(m.practitioner.uuid) == key:
                    return m.practitioner, None
        if kind == "p":
            for pool in self.pools:
                if str(pool.uuid) == key:
                    return None, pool
        return None, None

    def organizations(self) -> list[Organization]:
        orgs: dict[int, Organization] = {}
        for m in self.clinicians:
            orgs.setdefault(m.organization_id, m.organization)
        for pool in self.pools:
            orgs.setdefault(pool.organization_id, pool.organization)
        return list(orgs.values())

    def __bool__(self) -> bool:
        return bool(self.clinicians or self.pools)


def recipients_for(patient: Patient) -> Recipients:
    clinicians, pools = queries.patient_recipients(patient)
    return Recipients(clinicians=clinicians, pools=pools)


def response_times(organizations: list[Organization]) -> list[tuple[str, str]]:
    """(practice name, expected response time) for the notice shown before sending."""
    return [(org.name, expected_response(org.expected_response_hours)) for org in organizations]


# -- the practice side ---------------------------------------------------------------------------


def practice_patient(viewer: Viewer, patient_uuid: str | uuid_module.UUID) -> Patient:
    """A patient of one of the viewer's organisations, else ``Http404``."""
    patient = practice_patients(viewer).filter(uuid=parse_uuid(patient_uuid)).first()
    if patient is None:
        raise Http404
    return patient


def patient_by_mrn(viewer: Viewer, mrn: str) -> Patient | None:
    return practice_patients(viewer).filter(mrn=mrn.strip()).first()


def colleague_choices(viewer: Viewer, organizations: list[Organization]) -> list[tuple[str, str]]:
    me = viewer.practitioner.pk if viewer.practitioner is not None else None
    choices: dict[str, str] = {}
    several = len(organizations) > 1
    for org in organizations:
        for p in rules.practice_members(org).distinct().order_by("family_name", "given_name"):
            if p.pk != me:
                label = f"{p.display_name}, {org.name}" if several else p.display_name
                choices.setdefault(str(p.uuid), label)
    return list(choices.items())


def clinician_choices(
    viewer: Viewer, organizations: list[Organization]
) -> list[tuple[str, str]] | None:
    """Clinicians a staff member may send on behalf of; None for a clinician (not offered)."""
    if not organizations or any(viewer.is_clinician_in(org.pk) for org in organizations):
        return None
    rows = (
        Membership.objects.filter(
            organization__in=organizations,
            role=Membership.Role.CLINICIAN,
            active=True,
            practitioner__active=True,
        )
        .select_related("practitioner")
        .order_by("practitioner__family_name", "practitioner__given_name")
    )
    me = viewer.practitioner.pk if viewer.practitioner is not None else None
    choices: dict[str, str] = {}
    for m in rows:
        if m.practitioner_id != me:
            choices.setdefault(str(m.practitioner.uuid), m.practitioner.display_name)
    return list(choices.items())


def practitioners_by_uuid(values: list[str]) -> list[Practitioner]:
    keys = []
    for value in values:
        try:
            keys.append(uuid_module.UUID(str(value)))
        except ValueError:
            continue
    return list(Practitioner.objects.filter(uuid__in=keys))


def people_of(organization: Organization) -> list[Practitioner]:
    """Practice users of the organisation a thread can be assigned to (those with a login)."""
    return list(
        rules.practice_members(organization)
        .filter(user__isnull=False)
        .distinct()
        .order_by("family_name", "given_name")
    )


def viewer_pools(viewer: Viewer) -> list[CareTeamPool]:
    return list(CareTeamPool.objects.filter(pk__in=list(viewer.pool_ids)).order_by("name", "pk"))


# -- the thread page -----------------------------------------------------------------------------


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def reading_rows(readings: Sequence[Mapping[str, object]]) -> list[tuple[str, str]]:
    """Readings as (label, value with unit), e.g. ("Blood pressure", "128/82 mmHg")."""
    rows = []
    for item in readings:
        kind = item.get("kind")
        unit = item.get("unit") or ""
        if kind == "blood-pressure":
            value = f"{_number(item.get('systolic'))}/{_number(item.get('diastolic'))}"
        else:
            value = _number(item.get("value"))
        rows.append((READING_LABELS.get(str(kind), str(kind)), f"{value} {unit}".strip()))
    return rows


@dataclass
class KeptFile:
    """An upload already stored for a form that has to be sent again."""

    uuid: str
    name: str
    size: int


def kept_uploads(user: User, values: list[str], limit: int) -> list[KeptFile]:
    """The caller's own uploads not yet attached to a message (by UUID; others are dropped)."""
    from carethread.messaging.access import access_attachment

    kept: list[KeptFile] = []
    for value in values[:limit]:
        try:
            attachment, _ = access_attachment(user, parse_uuid(value))
        except Http404:
            continue
        if attachment.message_id is not None or attachment.uploaded_by_id != user.pk:
            continue
        kept.append(KeptFile(str(attachment.uuid), filename_of(attachment), attachment.size))
    return kept


def filename_of(attachment: Attachment) -> str:
    return attachment.unseal("filename_ct") or "attachment"
