"""The shape of the measure report: the document ``engine.compute`` returns and every reader
takes (the exports, the command line, the REST API, the dashboard's pages).

Each part is a ``TypedDict``: at run time a report is plain dictionaries and lists, so the JSON
written from it is exactly what the engine built, while the type checker holds every reader to
the keys below. docs/measures.md says what each value means; ``exports.to_json`` writes the keys
in this order. (No ``from __future__ import annotations`` here: the annotations are read when
each class is made, so ``NotRequired`` keys are optional at run time too.)
"""

from typing import Literal, NotRequired, TypedDict

# Why a denominator patient is, or is not, in the numerator (docs/measures.md, "Patient reasons
# and evidence").
Reason = Literal[
    "clinician-replied",
    "clinician-sent",
    "delegate-sent",
    "practice-sent",
    "patient-sent",
    "sent-by-staff",
    "sent-by-other-clinician",
    "unanswered-patient-message",
    "outside-window",
    "no-message",
]
# A patient's portal state: a login, no login (invite first), or a blocked login.
Portal = Literal["not-enrolled", "enrolled", "blocked"]


class Period(TypedDict):
    """The reported days, ``YYYY-MM-DD``, both inclusive."""

    start: str
    end: str


class PolicyJson(TypedDict):
    """The policies the report applied (``request.Policy`` written out)."""

    actors: str
    halo: bool
    exclude_pos: list[str]
    window: str


class ThresholdJson(TypedDict, total=False):
    """A program's pass mark (``programs.Threshold`` written out): one of the two keys."""

    rate_gt: float
    numerator_gte: int


class Exclusions(TypedDict):
    no_office_visits: bool
    broadband: bool | None  # None: no low-broadband county list was given


class WhatItTakes(TypedDict):
    """How many more denominator patients to message to pass, or for the next MIPS point."""

    goal: Literal["pass", "points"]
    points: NotRequired[int]  # goal "points" only: the point reached
    more_patients: int


class Score(TypedDict):
    """A numerator over a denominator, judged by the program."""

    numerator: int
    denominator: int
    rate: float | None  # None for an empty denominator
    threshold: ThresholdJson | None
    met: bool | None  # None: the program has no threshold
    points: int | None  # None: not a MIPS program


class Reading(Score):
    """A row's score under one of the six ``actors`` x ``halo`` readings."""

    actors: str
    halo: bool
    applied: bool  # the reading the report's policies chose


class PatientLine(TypedDict):
    """One denominator patient of a row, and why it is or is not in the numerator."""

    patient: str  # the MRN
    in_numerator: bool
    reason: Reason
    evidence: list[str]  # message identifiers
    portal: Portal


class ResultRow(TypedDict):
    """One result row: a (TIN, NPI) at ``individual``, a TIN at ``group``, an NPI at ``ep``.
    A capability program's row has ``value`` and no numerator, denominator or rate."""

    tin: str | None
    npi: str | None
    numerator: int | None
    denominator: int | None
    rate: float | None
    value: NotRequired[bool]
    threshold: ThresholdJson | None
    met: bool | None
    points: int | None
    exclusions: Exclusions
    what_it_takes: WhatItTakes | None
    readings: list[Reading]
    patients: NotRequired[list[PatientLine]]  # only when the report lists patients


class Report(TypedDict):
    """The whole report document."""

    program: str
    measure_id: str | None
    period: Period
    level: str
    policy: PolicyJson
    warnings: list[str]
    results: list[ResultRow]
