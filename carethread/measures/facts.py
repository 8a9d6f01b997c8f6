"""The facts a report is computed from, each read with one set-based query.

Every function here runs a fixed number of statements whatever the number of patients or
clinicians. Instants are passed as parameters adapted by the connection's own rules, so the
comparisons mean the same on SQLite (text in UTC) and PostgreSQL (timestamptz).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeAlias

from django.db import connection, models, transaction

from carethread.accounts.models import User
from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.core.models import (
    CareTeamPool,
    Encounter,
    EncounterParticipant,
    Location,
    Membership,
    Organization,
    Patient,
    Practitioner,
    Representative,
)
from carethread.measures.report import Portal
from carethread.measures.request import county_key
from carethread.messaging.models import Message, Recipient, Thread

NOT_SEEN_STATUSES = (Encounter.Status.CANCELLED, Encounter.Status.ENTERED_IN_ERROR)

# Portal states, as the denominator query returns them.
PORTAL: tuple[Portal, ...] = ("not-enrolled", "enrolled", "blocked")


# A value a query takes as a parameter: a code, an id, a flag, or an instant as the connection
# writes it.
SqlParam: TypeAlias = str | int | None
# A piece of SQL and its parameters.
Sql: TypeAlias = tuple[str, list[SqlParam]]


def _t(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _instant(value: dt.datetime) -> str | None:
    return connection.ops.adapt_datetimefield_value(value)


def _in(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


# Memory for PostgreSQL's sorts and hashes in a report's transaction: grouping a million visits
# stays in memory instead of spilling to disk.
REPORT_WORK_MEM = "64MB"


@contextlib.contextmanager
def report_session() -> Iterator[None]:
    """On PostgreSQL, one transaction for the report's queries (they all read the same snapshot)
    with more sort memory. SQLite needs nothing: its transactions here would take the write
    lock and hold back every sender while a report runs."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [REPORT_WORK_MEM])
        yield


# -- who is who ---------------------------------------------------------------------------------


@dataclass
class Practice:
    """Memberships, NPIs and pools: small tables, read whole."""

    npi: dict[int, str] = field(default_factory=dict)  # practitioner -> NPI
    member_orgs: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    clinician_orgs: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    org_clinicians: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    clinicians_anywhere: set[int] = field(default_factory=set)
    tin: dict[int, str] = field(default_factory=dict)  # organisation -> TIN
    pool_org: dict[int, int] = field(default_factory=dict)
    pool_members: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add_visits(self, pairs: Iterable[tuple[int, int]]) -> None:
        """A practitioner with an NPI and no role at an organisation who saw patients at its
        encounters is one of its clinicians for the period (a visiting clinician); the pairs
        come from the denominator query, which leaves out staff roles."""
        for org, prac in pairs:
            self.org_clinicians[org].add(prac)
            self.clinicians_anywhere.add(prac)


def practice() -> Practice:
    facts = Practice()
    facts.tin = dict(Organization.objects.values_list("id", "tin"))
    facts.npi = {
        pk: npi
        for pk, npi in Practitioner.objects.filter(npi__isnull=False).values_list("id", "npi")
        if npi
    }
    for prac, org, role in Membership.objects.values_list(
        "practitioner_id", "organization_id", "role"
    ):
        facts.member_orgs[prac].add(org)
        if role == Membership.Role.CLINICIAN and prac in facts.npi:
            facts.clinician_orgs[prac].add(org)
            facts.org_clinicians[org].add(prac)
            facts.clinicians_anywhere.add(prac)
    facts.pool_org = dict(CareTeamPool.objects.values_list("id", "organization_id"))
    through = CareTeamPool.members.through
    for pool, prac in through.objects.values_list("careteampool_id", "practitioner_id"):
        facts.pool_members[pool].add(prac)
    return facts


def low_broadband_locations(counties: frozenset[tuple[str, str]]) -> list[int]:
    return [
        pk
        for pk, state, county in Location.objects.values_list("id", "state", "county")
        if (state.upper(), county_key(county)) in counties
    ]


# -- the denominator ----------------------------------------------------------------------------


class Seen(NamedTuple):
    """One (organisation, clinician, patient) of the period, with visit counts (the query
    returns plain tuples in this order; the names document them)."""

    org: int
    prac: int
    patient: int
    visits: int
    low_broadband_visits: int


@dataclass(frozen=True)
class Scope:
    """Which encounters a report reads: the period and the rows it was asked for."""

    start: dt.datetime
    end: dt.datetime  # exclusive
    excluded_pos: tuple[str, ...]
    orgs: tuple[int, ...] | None = None  # None: every organisation
    pracs: tuple[int, ...] | None = None  # None: every clinician


def _seen_where(scope: Scope) -> Sql:
    """The encounters that put a patient in a clinician's denominator (docs/measures.md,
    "Denominator"), and the participants who saw them as clinicians: an NPI, and no ``staff``
    role at the encounter's practice (the role decides, whatever the NPI; without a role, a
    visiting clinician)."""
    sql = [
        "e.start >= %s AND e.start < %s",
        f"e.status NOT IN ({_in(NOT_SEEN_STATUSES)})",
        "pr.npi IS NOT NULL AND pr.npi <> ''",
        "(ms.role IS NULL OR ms.role <> %s)",
    ]
    params: list[SqlParam] = [
        _instant(scope.start),
        _instant(scope.end),
        *NOT_SEEN_STATUSES,
        Membership.Role.STAFF,
    ]
    if scope.excluded_pos:
        sql.append(f"(l.pos_code IS NULL OR l.pos_code NOT IN ({_in(scope.excluded_pos)}))")
        params.extend(scope.excluded_pos)
    if scope.orgs is not None:
        sql.append(f"e.organization_id IN ({_in(scope.orgs) or 'NULL'})")
        params.extend(scope.orgs)
    if scope.pracs is not None:
        sql.append(f"p.practitioner_id IN ({_in(scope.pracs) or 'NULL'})")
        params.extend(scope.pracs)
    return " AND ".join(sql), params


def _seen_from() -> str:
    return (
        f"{_t(Encounter)} e "
        f"JOIN {_t(EncounterParticipant)} p ON p.encounter_id = e.id "
        f"JOIN {_t(Practitioner)} pr ON pr.id = p.practitioner_id "
        f"LEFT JOIN {_t(Membership)} ms "
        "ON ms.practitioner_id = p.practitioner_id AND ms.organization_id = e.organization_id "
        f"LEFT JOIN {_t(Location)} l ON l.id = e.location_id"
    )


def _low_broadband_sum(locations: Sequence[int] | None) -> Sql:
    if not locations:
        return "0", []
    return f"SUM(CASE WHEN e.location_id IN ({_in(locations)}) THEN 1 ELSE 0 END)", list(locations)


def seen(scope: Scope, low_broadband: Sequence[int] | None) -> list[Seen]:
    """Distinct (organisation, clinician, patient) triples with their visit counts."""
    where, where_params = _seen_where(scope)
    low_sql, low_params = _low_broadband_sum(low_broadband)
    sql = (
        f"SELECT e.organization_id, p.practitioner_id, e.patient_id, COUNT(*), {low_sql} "
        f"FROM {_seen_from()} WHERE {where} "
        "GROUP BY e.organization_id, p.practitioner_id, e.patient_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*low_params, *where_params])
        return cursor.fetchall()  # rows in Seen's order


def clinicians_seen(scope: Scope) -> list[tuple[int, int]]:
    """(organisation, clinician) pairs of the period's qualifying encounters, every practice."""
    unfiltered = Scope(start=scope.start, end=scope.end, excluded_pos=scope.excluded_pos)
    where, params = _seen_where(unfiltered)
    sql = f"SELECT DISTINCT e.organization_id, p.practitioner_id FROM {_seen_from()} WHERE {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def patient_cards(patients: Sql | None) -> dict[int, tuple[str, int]]:
    """MRN and portal state (an index into PORTAL) of every patient, or of those the subquery
    ``patients`` selects."""
    sql = (
        "SELECT pt.id, pt.mrn, "
        "CASE WHEN pt.user_id IS NULL THEN 0 WHEN u.blocked_at IS NOT NULL THEN 2 ELSE 1 END "
        f"FROM {_t(Patient)} pt LEFT JOIN {_t(User)} u ON u.id = pt.user_id"
    )
    params: list[SqlParam] = []
    if patients is not None:
        sql += f" WHERE pt.id IN ({patients[0]})"
        params = patients[1]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk: (mrn, portal) for pk, mrn, portal in cursor.fetchall()}


def group_visits(scope: Scope, low_broadband: Sequence[int] | None) -> dict[int, tuple[int, int]]:
    """Per organisation: its qualifying encounters, and those at low-broadband locations (each
    encounter once, however many clinicians took part)."""
    where, where_params = _seen_where(scope)
    low = (
        f"COUNT(DISTINCT CASE WHEN e.location_id IN ({_in(low_broadband)}) THEN e.id END)"
        if low_broadband
        else "0"
    )
    sql = (
        f"SELECT e.organization_id, COUNT(DISTINCT e.id), {low} "
        f"FROM {_seen_from()} WHERE {where} GROUP BY e.organization_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(low_broadband or ()), *where_params])
        return {org: (visits, low_visits) for org, visits, low_visits in cursor.fetchall()}


def seen_patients_sql(scope: Scope) -> Sql:
    """A subquery of the patients in the scope's denominators."""
    where, params = _seen_where(scope)
    return f"SELECT e.patient_id FROM {_seen_from()} WHERE {where}", params


# -- the messages -------------------------------------------------------------------------------


class Sent(NamedTuple):
    """A message that reaches a patient (practitioner-sent) or comes from the patient side."""

    patient: int
    id: int
    identifier: str
    from_patient_side: int  # 1 or 0
    sender: int | None  # practitioner
    on_behalf_of: int | None
    org: int  # the thread's organisation
    answers_patient: int  # 1: a reply to the patient side, or in a thread it began
    in_window: int  # 1 or 0


def _authorised(rep: str, patient: str) -> str:
    """The representative row ``rep`` speaks for ``patient`` at the message's sending time."""
    return (
        f"{rep}.patient_id = {patient} AND {rep}.consent_given_at IS NOT NULL "
        f"AND ({rep}.valid_from IS NULL OR {rep}.valid_from <= m.sent_at) "
        f"AND ({rep}.valid_until IS NULL OR m.sent_at <= {rep}.valid_until)"
    )


def sent(
    scan: tuple[dt.datetime, dt.datetime],
    window: tuple[dt.datetime, dt.datetime],
    patients: Sql | None,
) -> list[Sent]:
    """Completed, non-automatic messages about a patient sent within ``scan``: those a
    practitioner sent that reach the patient or an authorised representative, and those the
    patient or an authorised representative sent. Ordered by sending time."""
    kinds = Message.SenderKind
    reaches = (
        f"EXISTS (SELECT 1 FROM {_t(Recipient)} rc "
        f"LEFT JOIN {_t(Representative)} rr ON rr.id = rc.representative_id "
        "WHERE rc.message_id = m.id AND ("
        "(rc.kind = %s AND rc.patient_id = t.patient_id) OR "
        f"(rc.kind = %s AND {_authorised('rr', 't.patient_id')})))"
    )
    from_representative = (
        f"EXISTS (SELECT 1 FROM {_t(Representative)} sr "
        f"WHERE sr.id = m.sender_representative_id AND {_authorised('sr', 't.patient_id')})"
    )
    sql = (
        "SELECT t.patient_id, m.id, m.identifier, "
        "CASE WHEN m.sender_kind = %s THEN 0 ELSE 1 END, "
        "m.sender_practitioner_id, m.on_behalf_of_id, t.organization_id, "
        "CASE WHEN m.in_response_to_id IS NOT NULL OR t.started_by <> %s THEN 1 ELSE 0 END, "
        "CASE WHEN m.sent_at >= %s AND m.sent_at < %s THEN 1 ELSE 0 END "
        f"FROM {_t(Message)} m JOIN {_t(Thread)} t ON t.id = m.thread_id "
        "WHERE m.status = %s AND m.is_automatic = %s AND m.sent_at >= %s AND m.sent_at < %s "
        f"AND ((m.sender_kind = %s AND {reaches}) "
        "OR (m.sender_kind = %s AND m.sender_patient_id = t.patient_id) "
        f"OR (m.sender_kind = %s AND {from_representative}))"
    )
    params: list[SqlParam] = [
        kinds.PRACTITIONER,
        "practice",
        _instant(window[0]),
        _instant(window[1]),
        Message.Status.COMPLETED,
        False,
        _instant(scan[0]),
        _instant(scan[1]),
        kinds.PRACTITIONER,
        Recipient.Kind.PATIENT,
        Recipient.Kind.REPRESENTATIVE,
        kinds.PATIENT,
        kinds.REPRESENTATIVE,
    ]
    if patients is not None:
        sql += f" AND t.patient_id IN ({patients[0]})"
        params.extend(patients[1])
    # In sending order (the order of the index on ``sent_at``); the flags stay 0/1 integers.
    sql += " ORDER BY m.sent_at, m.id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(map(Sent._make, cursor.fetchall()))


def practice_recipients(message_ids: Iterable[int]) -> dict[int, tuple[set[int], set[int]]]:
    """Per message: the practitioners and the pools among its recipients (for ``mu2-2014``).

    Read in chunks of message ids (the ids come from one ``sent`` pass)."""
    found: dict[int, tuple[set[int], set[int]]] = {}
    ids = list(message_ids)
    chunk = 5000
    for first in range(0, len(ids), chunk):
        part = ids[first : first + chunk]
        rows = Recipient.objects.filter(
            message_id__in=part, kind__in=(Recipient.Kind.PRACTITIONER, Recipient.Kind.POOL)
        ).values_list("message_id", "practitioner_id", "pool_id")
        for message, prac, pool in rows:
            pracs, pools = found.setdefault(message, (set(), set()))
            if prac is not None:
                pracs.add(prac)
            if pool is not None:
                pools.add(pool)
    return found


# -- the capability (mod2-2015) -----------------------------------------------------------------


def messaging_enabled_changes() -> dict[str, list[tuple[dt.datetime, bool, bool]]]:
    """Per organisation UUID: the audited changes of ``messaging_enabled`` (when, old, new),
    oldest first."""
    changes: dict[str, list[tuple[dt.datetime, bool, bool]]] = defaultdict(list)
    rows = AuditEvent.objects.filter(
        action=codes.SETTING_CHANGED, object_type=Organization._meta.label_lower
    ).values_list("object_id", "occurred_at", "details")
    for object_id, occurred_at, details in rows.order_by("seq"):
        if isinstance(details, dict) and details.get("field") == "messaging_enabled":
            changes[object_id].append(
                (occurred_at, bool(details.get("old")), bool(details.get("new")))
            )
    return changes
