"""Reads of the audit report page: the events of a practice, filtered, sorted and paged, and the
names of the people and patients they name (resolved when shown, never stored in the trail).

An event belongs to a practice when

* its actor is a login of that practice: a practitioner with a membership there (active or not,
  so a former member's events stay visible), a patient of the practice, or a representative of
  such a patient; or
* its patient is a patient of the practice (managed there or seen there, as
  ``access.patients_for_admin`` reads it).

Events with neither (a sign-in attempt for an unknown address, the operator's commands, the
worker) belong to the installation, not to a practice, and are left to ``carethread audit
report``. The trail stores ids only (``actor_id``, ``patient_id``); names are read here when a
page or an export shows them.

Time order is ``seq`` order (``record`` takes the time under the chain's lock), so "newest
first" is ``-seq``, and a period is turned into a range of ``seq`` (two index look-ups) that the
database walks on the indexes of migration ``audit.0004``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    CharField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Concat

from carethread.accounts.models import User
from carethread.audit.models import AuditEvent
from carethread.core.models import Organization, Patient, Practitioner, Representative

PAGE_SIZE = 50
MAX_PAGES = 200  # offset paging stops here: narrow the filters or export the CSV

# Column -> what it sorts by (``actor_name`` and ``patient_name`` are annotated on demand).
SORTS = {
    "seq": "seq",
    "time": "seq",
    "user": "actor_name",
    "role": "actor_role",
    "patient": "patient_name",
    "action": "action",
    "object": "object_type",
    "outcome": "outcome",
    "address": "source_address",
}


@dataclass(frozen=True)
class ReportQuery:
    """The page's filters (already checked), sort and page."""

    start: dt.datetime | None = None  # inclusive
    end: dt.datetime | None = None  # exclusive
    actor_id: int | None = None
    patient_id: int | None = None
    action: str = ""
    outcome: str = ""
    address: str = ""
    sort: str = "-time"
    page: int = 1

    @property
    def sort_key(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


@dataclass
class Names:
    """Display names of the actors (by user id) and patients (by patient id) of some events."""

    actors: dict[int, str] = field(default_factory=dict)
    actor_uuids: dict[int, str] = field(default_factory=dict)
    patients: dict[int, Patient] = field(default_factory=dict)


def practice_patient_ids(orgs: Sequence[Organization]) -> QuerySet[Patient, Any]:
    """The ids of the patients of ``orgs`` (managed there or seen there)."""
    return (
        Patient.objects.filter(
            Q(managing_organization__in=orgs) | Q(encounters__organization__in=orgs)
        )
        .values("pk")
        .distinct()
    )


def practice_patients(orgs: Sequence[Organization]) -> QuerySet[Patient]:
    """The patients of ``orgs``, by name (the page's patient filter)."""
    return Patient.objects.filter(pk__in=practice_patient_ids(orgs)).order_by(
        "family_name", "given_name", "pk"
    )


def practice_users(orgs: Sequence[Organization]) -> QuerySet[Practitioner]:
    """The practitioners with a login and a membership in ``orgs`` (the page's user filter)."""
    return (
        Practitioner.objects.filter(memberships__organization__in=orgs, user__isnull=False)
        .select_related("user")
        .distinct()
        .order_by("family_name", "given_name", "pk")
    )


def practice_login_ids(orgs: Sequence[Organization]) -> QuerySet[User, Any]:
    """The ids of the logins of ``orgs``: its practitioners, its patients and their
    representatives."""
    patients = practice_patient_ids(orgs)
    return User.objects.filter(
        Q(practitioner__memberships__organization__in=orgs)
        | Q(patient__pk__in=patients)
        | Q(representations__patient__in=patients)
    ).values("pk")


def events_of(orgs: Sequence[Organization]) -> QuerySet[AuditEvent]:
    """The audit events that belong to ``orgs`` (see the module's description)."""
    # ``+ 0`` keeps the database from answering this condition from the actor and patient
    # indexes (SQLite would collect every matching entry through them, then sort): the page
    # walks ``seq`` (or a filter's index) newest first and checks each entry, and stops at 51.
    return AuditEvent.objects.alias(
        scope_actor=F("actor_id") + Value(0), scope_patient=F("patient_id") + Value(0)
    ).filter(
        Q(scope_actor__in=practice_login_ids(orgs))
        | Q(scope_patient__in=practice_patient_ids(orgs))
    )


def _seq_bound(when: dt.datetime, *, after: bool) -> int | None:
    """The first entry at or after ``when`` (``after``), or the last one before it."""
    if after:
        rows = AuditEvent.objects.filter(occurred_at__gte=when).order_by("occurred_at")
    else:
        rows = AuditEvent.objects.filter(occurred_at__lt=when).order_by("-occurred_at")
    return rows.values_list("seq", flat=True).first()


def _name_of(model: type[Practitioner | Patient | Representative]) -> Subquery:
    rows = model.objects.filter(user_id=OuterRef("actor_id")).order_by("pk")
    full = Concat("family_name", Value(", "), "given_name", output_field=CharField())
    return Subquery(rows.annotate(full=full).values("full")[:1])


def _sorted(rows: QuerySet[AuditEvent], query: ReportQuery) -> QuerySet[AuditEvent]:
    key = SORTS[query.sort_key]
    if key == "actor_name":
        rows = rows.annotate(
            actor_name=Coalesce(
                _name_of(Practitioner),
                _name_of(Patient),
                _name_of(Representative),
                F("actor_label"),
                output_field=CharField(),
            )
        )
    elif key == "patient_name":
        names = Patient.objects.filter(pk=OuterRef("patient_id")).annotate(
            full=Concat("family_name", Value(", "), "given_name", output_field=CharField())
        )
        rows = rows.annotate(patient_name=Subquery(names.values("full")[:1]))
    if key == "seq":
        return rows.order_by("-seq" if query.descending else "seq")
    column = F(key)
    first = column.desc(nulls_last=True) if query.descending else column.asc(nulls_first=True)
    return rows.order_by(first, "-seq" if query.descending else "seq")


def filtered(orgs: Sequence[Organization], query: ReportQuery) -> QuerySet[AuditEvent] | None:
    """The events of ``orgs`` that pass the filters, sorted; None if the period holds none."""
    rows = events_of(orgs)
    if query.start is not None:
        low = _seq_bound(query.start, after=True)
        if low is None:
            return None
        rows = rows.filter(seq__gte=low, occurred_at__gte=query.start)
    if query.end is not None:
        high = _seq_bound(query.end, after=False)
        if high is None:
            return None
        rows = rows.filter(seq__lte=high, occurred_at__lt=query.end)
    equal = {
        "actor_id": query.actor_id,
        "patient_id": query.patient_id,
        "action": query.action,
        "outcome": query.outcome,
        "source_address": query.address,
    }
    rows = rows.filter(**{column: value for column, value in equal.items() if value})
    return _sorted(rows, query)


def page_of(orgs: Sequence[Organization], query: ReportQuery) -> tuple[list[AuditEvent], bool]:
    """One page of events (offset paging, at most ``MAX_PAGES``) and whether another follows."""
    rows = filtered(orgs, query)
    if rows is None:
        return [], False
    offset = (query.page - 1) * PAGE_SIZE
    events = list(rows[offset : offset + PAGE_SIZE + 1])
    more = len(events) > PAGE_SIZE and query.page < MAX_PAGES
    return events[:PAGE_SIZE], more


def names_for(events: Iterable[AuditEvent]) -> Names:
    """The names of the events' actors and patients (two queries, whatever the number)."""
    events = list(events)
    names = Names()
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    patient_ids = {e.patient_id for e in events if e.patient_id is not None}
    if actor_ids:
        users = User.objects.filter(pk__in=actor_ids).select_related("practitioner", "patient")
        for user in users.prefetch_related("representations"):
            names.actor_uuids[user.pk] = str(user.uuid)
            names.actors[user.pk] = _login_name(user)
    if patient_ids:
        names.patients = {p.pk: p for p in Patient.objects.filter(pk__in=patient_ids)}
    return names


def login_name(user_pk: int) -> str:
    """The name of one login (a practitioner, a patient or a representative)."""
    user = User.objects.select_related("practitioner", "patient").get(pk=user_pk)
    return _login_name(user)


def _login_name(user: User) -> str:
    practitioner = getattr(user, "practitioner", None)
    if practitioner is not None:
        return practitioner.display_name
    patient = getattr(user, "patient", None)
    if patient is not None:
        return patient.display_name
    representations = list(user.representations.all())
    if representations:
        rep = representations[0]
        return f"{rep.given_name} {rep.family_name}".strip()
    return user.email
