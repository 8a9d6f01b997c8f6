"""The measure pages' words and numbers: a report document's rows as the templates show them.

Rates as percentages, thresholds and outcomes in plain words, what it takes to pass, the six
readings side by side, and the reasons and portal states of a row's patients. Besides
``names`` (two queries for the practices' and clinicians' names) nothing here reads the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NotRequired, TypedDict

from carethread.core.models import Organization, Practitioner
from carethread.measures import engine
from carethread.measures.programs import Numerator, Program
from carethread.measures.report import Exclusions, Portal, Reason, ResultRow, ThresholdJson
from carethread.measures.request import Actors
from carethread.web.measures.forms import ReportQuery

REASONS: dict[Reason, str] = {
    "clinician-sent": "The clinician sent the patient a message",
    "clinician-replied": "The clinician answered the patient",
    "delegate-sent": "Staff sent a message on the clinician's behalf",
    "practice-sent": "Someone else at the practice sent a message (credited by the policy)",
    "patient-sent": "The patient sent the clinician a message",
    "no-message": "No message in the period",
    "unanswered-patient-message": "The patient wrote and no credited answer followed",
    "outside-window": "A message was sent, but outside the period",
    "sent-by-staff": "Staff messaged the patient; this policy does not credit it",
    "sent-by-other-clinician": "Another clinician messaged the patient; this policy does not "
    "credit it",
}
PORTAL: dict[Portal, str] = {
    "enrolled": "Enrolled",
    "not-enrolled": "Not enrolled: invite first",
    "blocked": "Portal access blocked",
}
ACTORS_LABELS = {
    Actors.CLINICIAN: "Clinician",
    Actors.DELEGATE: "Clinician or delegate",
    Actors.PRACTICE: "Anyone at the practice",
}


class ReadingCell(TypedDict):
    """One of a row's six readings as its table cell shows it."""

    numerator: int
    rate: str
    judged: str  # "Pass", "Fail", "n pts", or nothing
    applied: bool


class RowView(TypedDict):
    """A result row as the dashboard's table shows it."""

    tin: str | None
    npi: str | None
    practice: str | None
    clinician: str | None
    numerator: int | None
    denominator: int | None
    gap: int
    rate: str
    threshold: str
    outcome: str
    state: str
    what: str
    exclusions: str
    readings: list[ReadingCell]
    patients_url: NotRequired[str]


# -- words and numbers ---------------------------------------------------------------------------


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def threshold_text(threshold: ThresholdJson | None) -> str:
    if not threshold:
        return ""
    if "rate_gt" in threshold:
        return f"more than {threshold['rate_gt'] * 100:g}%"
    n = threshold["numerator_gte"]
    return f"at least {n} patient{'s' if n != 1 else ''}"


def outcome(program: Program, row: ResultRow) -> tuple[str, str]:
    """(text, CSS state) of a row's result: pass/fail, points, or the capability's yes/no."""
    if program.numerator is Numerator.CAPABILITY:
        on = bool(row.get("value"))
        return ("Enabled throughout" if on else "Not enabled throughout", "pass" if on else "fail")
    if program.scored:
        return (f"{row['points'] or 0} of 10 points", "points")
    if row["met"]:
        return ("Pass", "pass")
    return ("Fail", "fail")


def what_it_takes_text(program: Program, row: ResultRow) -> str:
    wanted = row["what_it_takes"]
    if program.numerator is Numerator.CAPABILITY:
        return ""
    if wanted is None:
        if not row["denominator"]:
            return "No patients seen in the period"
        if program.scored:
            return "Full points"
        return "Cannot pass with this many patients"
    k = wanted["more_patients"]
    patients = f"{k} more patient{'s' if k != 1 else ''}"
    if wanted["goal"] == "points":
        p = wanted["points"]
        return f"Message {patients} for {p} point{'s' if p != 1 else ''}"
    if k == 0:
        return "Passing"
    return f"Message {patients} to pass"


def exclusions_text(exclusions: Exclusions) -> str:
    parts = []
    if exclusions["no_office_visits"]:
        parts.append("No office visits")
    if exclusions["broadband"]:
        parts.append("Low broadband")
    return ", ".join(parts) or "None"


def reading_cells(program: Program, row: ResultRow) -> list[ReadingCell]:
    cells: list[ReadingCell] = []
    for reading in row["readings"]:
        if program.scored:
            judged = f"{reading['points'] or 0} pts"
        elif reading["met"] is None:
            judged = ""
        else:
            judged = "Pass" if reading["met"] else "Fail"
        cells.append(
            {
                "numerator": reading["numerator"],
                "rate": percent(reading["rate"]),
                "judged": judged,
                "applied": reading["applied"],
            }
        )
    return cells


def reading_headers() -> list[str]:
    return [
        f"{ACTORS_LABELS[actors]}{', halo' if halo else ''}" for actors, halo in engine.READINGS
    ]


def names(
    rows: Iterable[tuple[str | None, str | None]],
) -> tuple[dict[str, str], dict[str, str]]:
    """Practice names by TIN and clinician names by NPI for the rows' (TIN, NPI) (two
    queries)."""
    keys = list(rows)
    tins = {tin for tin, _npi in keys if tin}
    npis = {npi for _tin, npi in keys if npi}
    orgs = {o.tin: o.name for o in Organization.objects.filter(tin__in=tins)}
    people = {p.npi or "": p.display_name for p in Practitioner.objects.filter(npi__in=npis)}
    return orgs, people


def row_views(
    results: list[ResultRow], program: Program, query: ReportQuery | None = None
) -> list[RowView]:
    """The report's result rows as the dashboard shows them; with ``query``, each links to
    its patients."""
    orgs, people = names((row["tin"], row["npi"]) for row in results)
    rows = []
    for row in results:
        text, state = outcome(program, row)
        view: RowView = {
            "tin": row["tin"],
            "npi": row["npi"],
            "practice": orgs.get(row["tin"] or ""),
            "clinician": people.get(row["npi"] or ""),
            "numerator": row["numerator"],
            "denominator": row["denominator"],
            "gap": (row["denominator"] or 0) - (row["numerator"] or 0),
            "rate": percent(row["rate"]),
            "threshold": threshold_text(row["threshold"]),
            "outcome": text,
            "state": state,
            "what": what_it_takes_text(program, row),
            "exclusions": exclusions_text(row["exclusions"]),
            "readings": reading_cells(program, row),
        }
        if query is not None and program.numerator is not Numerator.CAPABILITY:
            view["patients_url"] = query.url(
                "measures_patients", row_tin=row["tin"], row_npi=row["npi"]
            )
        rows.append(view)
    return rows
