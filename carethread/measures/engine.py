"""The measure engine: ``compute(request)`` returns the reference JSON document.

It reads the facts (``facts.py``: a fixed number of set-based queries), then walks them once:
each result row gets its denominator patients, the messages credited to it under each of the six
``actors`` x ``halo`` readings, the reason and evidence for every patient under the applied
reading, and the exclusions. docs/measures.md states every rule this follows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from carethread.measures import capability, facts
from carethread.measures.programs import Level, Numerator, Program
from carethread.measures.report import (
    Exclusions,
    PatientLine,
    Reason,
    Report,
    ResultRow,
    Score,
    WhatItTakes,
)
from carethread.measures.request import Actors, MeasureRequest, Window, local_midnight

# The six readings, in the order the output lists them.
READINGS: tuple[tuple[Actors, bool], ...] = tuple(
    itertools.product((Actors.CLINICIAN, Actors.DELEGATE, Actors.PRACTICE), (False, True))
)
# How far outside the window a message is still shown as an "outside-window" near miss.
NEAR_MISS_DAYS = 366

Step = Callable[[str], None]


def compute(request: MeasureRequest, on_step: Step | None = None) -> Report:
    # A large report allocates hundreds of thousands of small dicts and lists that all live
    # until the end; the cyclic collector would walk them again and again for nothing.
    with _collector_paused(), facts.report_session():
        return _compute(request, on_step)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _compute(request: MeasureRequest, on_step: Step | None) -> Report:
    step = on_step or (lambda _label: None)
    period = request.instants()
    window = period
    if request.policy.window is Window.CALENDAR_YEAR:
        window = (
            local_midnight(dt.date(request.start.year, 1, 1)),
            local_midnight(dt.date(request.end.year + 1, 1, 1)),
        )
    step("practices")
    practice = facts.practice()
    entities = _Entities(request, practice)
    scope = facts.Scope(
        start=period[0],
        end=period[1],
        excluded_pos=request.policy.exclude_pos,
        orgs=entities.org_filter,
        pracs=entities.prac_filter,
    )
    low_broadband = (
        None
        if request.low_broadband_counties is None
        else facts.low_broadband_locations(request.low_broadband_counties)
    )
    step("visits")
    seen = facts.seen(scope, low_broadband)
    # At group level an encounter with two clinicians is one visit of the practice: counted
    # apart, and only when the broadband exclusion needs visit counts.
    group_visits = (
        facts.group_visits(scope, low_broadband)
        if request.level is Level.GROUP and low_broadband is not None
        else None
    )
    filtered = entities.org_filter is not None or entities.prac_filter is not None
    practice.add_visits(facts.clinicians_seen(scope) if filtered else {s[:2] for s in seen})
    rows = entities.rows(seen)

    program = request.program
    if program.numerator is Numerator.CAPABILITY:
        step("settings")
        enabled = capability.checker(period)
        results = [
            _capability_result(row, request, enabled(row.orgs), group_visits)
            for row in sorted(rows.values(), key=_Row.sort_key)
        ]
    else:
        step("messages")
        margin = dt.timedelta(days=NEAR_MISS_DAYS)
        sent = facts.sent(
            (window[0] - margin, window[1] + margin),
            window,
            facts.seen_patients_sql(scope) if filtered else None,
        )
        by_patient: dict[int, list[facts.Sent]] = defaultdict(list)
        for message in sent:
            by_patient[message.patient].append(message)
        recipients = (
            facts.practice_recipients(m.id for m in sent if m.from_patient_side)
            if program.numerator is Numerator.PATIENT_SENT
            else {}
        )
        cards = (
            facts.patient_cards(facts.seen_patients_sql(scope) if filtered else None)
            if request.patients
            else {}
        )
        step("results")
        credit = _Credit(practice, recipients, program.numerator)
        results = [
            _result(row, request, credit, by_patient, cards, group_visits)
            for row in sorted(rows.values(), key=_Row.sort_key)
        ]
    return {
        "program": program.id,
        "measure_id": program.qpp_measure_id,
        "period": {"start": request.start.isoformat(), "end": request.end.isoformat()},
        "level": str(request.level),
        "policy": request.policy.as_json(),
        "warnings": _warnings(request),
        "results": results,
    }


def _warnings(request: MeasureRequest) -> list[str]:
    program = request.program
    warnings = []
    if request.start.year != program.year or request.end.year != program.year:
        warnings.append(
            f"the period {request.start}..{request.end} lies outside {program.id}'s "
            f"performance year {program.year}; the program's rules were applied all the same"
        )
    if program.numerator is Numerator.CAPABILITY and request.patients:
        warnings.append(f"{program.id} is a yes/no capability: it has no patient lists")
    return warnings


# -- rows ---------------------------------------------------------------------------------------


@dataclass
class _Row:
    """One result row: who it is for, and its denominator."""

    tin: str | None
    npi: str | None
    own: frozenset[int]  # the row's own clinicians
    orgs: frozenset[int]  # the row's organisations
    patients: set[int]
    visits: int = 0
    low_broadband_visits: int = 0

    def sort_key(self) -> tuple[str, str]:
        return (self.tin or "", self.npi or "")


# A row's key: (organisation, clinician) at individual level, the organisation at group level,
# the clinician at ep level.
_RowKey = tuple[int, int] | int


class _Entities:
    """The rows a request asks for, and the encounter filter that feeds exactly them."""

    def __init__(self, request: MeasureRequest, practice: facts.Practice) -> None:
        self.level = request.level
        self.practice = practice
        org_by_tin = {tin: org for org, tin in practice.tin.items()}
        prac_by_npi = {npi: prac for prac, npi in practice.npi.items()}
        self.tin_org = None if request.tin is None else org_by_tin[request.tin]
        self.npi_prac = None if request.npi is None else prac_by_npi[request.npi]
        self.org_filter: tuple[int, ...] | None = None
        self.prac_filter: tuple[int, ...] | None = None
        if self.level is Level.EP:
            pracs = None if self.npi_prac is None else {self.npi_prac}
            if self.tin_org is not None:
                members = {p for p, orgs in practice.clinician_orgs.items() if self.tin_org in orgs}
                pracs = members if pracs is None else pracs & members
            self.prac_filter = None if pracs is None else tuple(sorted(pracs))
        else:
            orgs = None if self.tin_org is None else {self.tin_org}
            if self.npi_prac is not None:
                if self.level is Level.INDIVIDUAL:
                    self.prac_filter = (self.npi_prac,)
                else:
                    of_npi = practice.clinician_orgs.get(self.npi_prac, set())
                    orgs = of_npi if orgs is None else orgs & of_npi
            self.org_filter = None if orgs is None else tuple(sorted(orgs))

    def _wanted_org(self, org: int) -> bool:
        return self.org_filter is None or org in self.org_filter

    def _wanted_prac(self, prac: int) -> bool:
        return self.prac_filter is None or prac in self.prac_filter

    def rows(self, seen: list[facts.Seen]) -> dict[_RowKey, _Row]:
        practice = self.practice
        rows: dict[_RowKey, _Row] = {}
        if self.level is Level.INDIVIDUAL:
            for prac, orgs in practice.clinician_orgs.items():
                for org in orgs:
                    if self._wanted_org(org) and self._wanted_prac(prac):
                        rows[(org, prac)] = self._individual(org, prac)
            for s in seen:
                row = rows.get((s[0], s[1]))
                if row is None:
                    row = rows[(s[0], s[1])] = self._individual(s[0], s[1])
                _add(row, s)
        elif self.level is Level.GROUP:
            for org in practice.tin:
                if practice.org_clinicians.get(org) and self._wanted_org(org):
                    rows[org] = self._group(org)
            for s in seen:
                _add(rows[s[0]], s)
        else:
            encounter_orgs: dict[int, set[int]] = defaultdict(set)
            for s in seen:
                encounter_orgs[s[1]].add(s[0])
            for prac in set(practice.clinician_orgs) | set(encounter_orgs):
                if self._wanted_prac(prac):
                    # Where the NPI practises as a clinician: not where its role is staff.
                    orgs = practice.clinician_orgs.get(prac, set()) | encounter_orgs.get(
                        prac, set()
                    )
                    rows[prac] = _Row(
                        None, practice.npi[prac], frozenset({prac}), frozenset(orgs), set()
                    )
            for s in seen:
                _add(rows[s[1]], s)
        return rows

    def _individual(self, org: int, prac: int) -> _Row:
        practice = self.practice
        return _Row(
            practice.tin[org], practice.npi[prac], frozenset({prac}), frozenset({org}), set()
        )

    def _group(self, org: int) -> _Row:
        own = frozenset(self.practice.org_clinicians.get(org, set()))
        return _Row(self.practice.tin[org], None, own, frozenset({org}), set())


def _add(row: _Row, seen: facts.Seen) -> None:
    _org, _prac, patient, visits, low_visits = seen
    row.patients.add(patient)
    row.visits += visits
    row.low_broadband_visits += low_visits


# -- credit -------------------------------------------------------------------------------------

# Bits of a message's credit mask, one per reading of READINGS.
_BIT = {reading: 1 << i for i, reading in enumerate(READINGS)}
_ALL = sum(_BIT.values())
_HALO_CLINICIAN = _BIT[(Actors.CLINICIAN, True)]
_DELEGATE = _BIT[(Actors.DELEGATE, False)] | _BIT[(Actors.PRACTICE, False)]
_HALO_DELEGATE = _BIT[(Actors.DELEGATE, True)] | _BIT[(Actors.PRACTICE, True)]
_PRACTICE = _BIT[(Actors.PRACTICE, False)] | _BIT[(Actors.PRACTICE, True)]


def _combine(own: bool, delegate: bool, practice: bool, halo_own: bool, halo_delegate: bool) -> int:
    """The credit mask from what a message is to a row (docs/measures.md's table): the row's
    own clinician sent it (every reading); it was sent for one of them (delegate, practice);
    a member of the row's practice sent it (practice); and the same widened by the halo to
    every clinician of the row's practices."""
    if own:
        return _ALL
    mask = 0
    if delegate:
        mask |= _DELEGATE | _HALO_DELEGATE
    if halo_own:
        mask |= _HALO_CLINICIAN | _HALO_DELEGATE
    elif halo_delegate:
        mask |= _HALO_DELEGATE
    if practice:
        mask |= _PRACTICE
    return mask


class _Credit:
    """Which readings credit a message to a row, and under which reason code."""

    def __init__(
        self,
        practice: facts.Practice,
        recipients: dict[int, tuple[set[int], set[int]]],
        numerator: Numerator,
    ) -> None:
        self.practice = practice
        self.recipients = recipients
        self.patient_sent = numerator is Numerator.PATIENT_SENT
        self._halo_cache: dict[frozenset[int], frozenset[int]] = {}

    def halo(self, row: _Row) -> frozenset[int]:
        """Every clinician of the row's organisations (the halo reading's own clinicians)."""
        found = self._halo_cache.get(row.orgs)
        if found is None:
            org_clinicians = self.practice.org_clinicians
            found = frozenset(p for org in row.orgs for p in org_clinicians.get(org, ()))
            self._halo_cache[row.orgs] = found = found | row.own
        return found

    def masks(self, row: _Row, halo: frozenset[int], messages: list[facts.Sent]) -> list[int]:
        """The credit mask of each message for the row."""
        if self.patient_sent:
            return [
                self._patient_sent_mask(row, halo, m) if m.from_patient_side else 0
                for m in messages
            ]
        own, orgs, member_orgs = row.own, row.orgs, self.practice.member_orgs
        masks = []
        for m in messages:
            sender = m.sender
            if m.from_patient_side or sender is None:
                masks.append(0)
            elif sender in own:
                masks.append(_ALL)
            else:
                behalf = m.on_behalf_of
                masks.append(
                    _combine(
                        False,
                        behalf in own,
                        not orgs.isdisjoint(member_orgs.get(sender, ())),
                        sender in halo,
                        behalf in halo,
                    )
                )
        return masks

    def _patient_sent_mask(self, row: _Row, halo: frozenset[int], m: facts.Sent) -> int:
        pracs, pools = self.recipients.get(m.id, (set(), set()))
        practice = self.practice
        pool_members = [practice.pool_members.get(pool, set()) for pool in pools]
        to_own = not row.own.isdisjoint(pracs)
        to_own_pool = any(not row.own.isdisjoint(members) for members in pool_members)
        to_halo = not halo.isdisjoint(pracs)
        to_halo_pool = to_halo or any(not halo.isdisjoint(members) for members in pool_members)
        to_practice = any(
            not row.orgs.isdisjoint(practice.member_orgs.get(p, ())) for p in pracs
        ) or any(practice.pool_org.get(pool) in row.orgs for pool in pools)
        return _combine(to_own, to_own_pool, to_practice, to_halo, to_halo_pool)

    def reason(self, row: _Row, m: facts.Sent) -> Reason:
        """The reason code of a credited message."""
        if self.patient_sent:
            return "patient-sent"
        if m.sender in row.own:
            return "clinician-replied" if m.answers_patient else "clinician-sent"
        if m.on_behalf_of in row.own:
            return "delegate-sent"
        return "practice-sent"

    def explain(
        self, row: _Row, messages: list[facts.Sent], masks: list[int], applied: int
    ) -> tuple[Reason, list[str]]:
        """The reason code and evidence of one denominator patient (docs/measures.md)."""
        first = None
        evidence: list[str] = []
        outside: list[str] = []
        by_staff: list[str] = []
        by_clinician: list[str] = []
        asked: list[str] = []
        clinicians = self.practice.clinicians_anywhere
        for m, bits in zip(messages, masks, strict=True):
            if bits & applied:
                if m.in_window:
                    first = first or m
                    evidence.append(m.identifier)
                else:
                    outside.append(m.identifier)
            elif not m.in_window or self.patient_sent:
                continue
            elif m.from_patient_side:
                if m.org in row.orgs:
                    asked.append(m.identifier)
            elif m.sender in clinicians:
                by_clinician.append(m.identifier)
            else:
                by_staff.append(m.identifier)
        if first is not None:
            return self.reason(row, first), evidence
        misses: tuple[tuple[Reason, list[str]], ...] = (
            ("sent-by-staff", by_staff),
            ("sent-by-other-clinician", by_clinician),
            ("unanswered-patient-message", asked),
            ("outside-window", outside),
        )
        for reason, found in misses:
            if found:
                return reason, found
        return "no-message", []


# -- one row's result ---------------------------------------------------------------------------


def _result(
    row: _Row,
    request: MeasureRequest,
    credit: _Credit,
    by_patient: dict[int, list[facts.Sent]],
    cards: dict[int, tuple[str, int]],
    group_visits: dict[int, tuple[int, int]] | None,
) -> ResultRow:
    applied = _BIT[(request.policy.actors, request.policy.halo)]
    halo = credit.halo(row)
    with_patients = request.patients
    counts = dict.fromkeys(_BIT.values(), 0)
    patients: list[PatientLine] = []
    portal_names = facts.PORTAL
    for patient in row.patients:
        messages = by_patient.get(patient)
        if messages is None:
            if with_patients:
                mrn, portal = cards[patient]
                patients.append(
                    {
                        "patient": mrn,
                        "in_numerator": False,
                        "reason": "no-message",
                        "evidence": [],
                        "portal": portal_names[portal],
                    }
                )
            continue
        masks = credit.masks(row, halo, messages)
        mask = 0
        for m, bits in zip(messages, masks, strict=True):
            if m.in_window:
                mask |= bits
        if mask:
            for bit in counts:
                if mask & bit:
                    counts[bit] += 1
        if with_patients:
            mrn, portal = cards[patient]
            reason, evidence = credit.explain(row, messages, masks, applied)
            patients.append(
                {
                    "patient": mrn,
                    "in_numerator": bool(mask & applied),
                    "reason": reason,
                    "evidence": evidence,
                    "portal": portal_names[portal],
                }
            )
    program = request.program
    numerator, denominator = counts[applied], len(row.patients)
    result: ResultRow = {
        "tin": row.tin,
        "npi": row.npi,
        **_score(program, numerator, denominator),
        "exclusions": exclusions(row, request, group_visits),
        "what_it_takes": what_it_takes(program, numerator, denominator),
        "readings": [
            {
                "actors": str(actors),
                "halo": halo_on,
                **_score(program, counts[_BIT[(actors, halo_on)]], denominator),
                "applied": _BIT[(actors, halo_on)] == applied,
            }
            for actors, halo_on in READINGS
        ],
    }
    if with_patients:
        result["patients"] = sorted(patients, key=_by_mrn)
    return result


def _by_mrn(entry: PatientLine) -> str:
    return entry["patient"]


def _capability_result(
    row: _Row,
    request: MeasureRequest,
    value: bool,
    group_visits: dict[int, tuple[int, int]] | None,
) -> ResultRow:
    """A ``mod2-2015`` row: the yes/no value, which is also whether the row passes."""
    result: ResultRow = {
        "tin": row.tin,
        "npi": row.npi,
        "value": value,
        "numerator": None,
        "denominator": None,
        "rate": None,
        "threshold": None,
        "met": value,
        "points": None,
        "exclusions": exclusions(row, request, group_visits),
        "what_it_takes": None,
        "readings": [],
    }
    if request.patients:
        result["patients"] = []
    return result


def _score(program: Program, numerator: int, denominator: int) -> Score:
    return {
        "numerator": numerator,
        "denominator": denominator,
        "rate": numerator / denominator if denominator else None,
        "threshold": None if program.threshold is None else program.threshold.as_json(),
        "met": program.met(numerator, denominator),
        "points": program.points(numerator, denominator),
    }


def exclusions(
    row: _Row, request: MeasureRequest, group_visits: dict[int, tuple[int, int]] | None
) -> Exclusions:
    visits, low = row.visits, row.low_broadband_visits
    if group_visits is not None:
        (org,) = row.orgs
        visits, low = group_visits.get(org, (0, 0))
    return {
        "no_office_visits": not row.patients,
        "broadband": (
            None if request.low_broadband_counties is None else visits > 0 and 2 * low >= visits
        ),
    }


def what_it_takes(program: Program, numerator: int, denominator: int) -> WhatItTakes | None:
    """How many more denominator patients must be messaged to pass, or for the next point."""
    if denominator == 0:
        return None
    if program.scored:
        points = program.points(numerator, denominator) or 0
        if points >= 10:
            return None
        # The next point needs rate > points/10, i.e. 10 * n > points * d.
        needed = points * denominator // 10 + 1
        return {"goal": "points", "points": points + 1, "more_patients": needed - numerator}
    threshold = program.threshold
    if threshold is None:
        return None
    if threshold.numerator_gte is not None:
        needed = threshold.numerator_gte
    else:
        assert threshold.rate_gt is not None
        top, bottom = threshold.rate_gt
        needed = top * denominator // bottom + 1
    if needed > denominator:
        return None
    return {"goal": "pass", "more_patients": max(0, needed - numerator)}
