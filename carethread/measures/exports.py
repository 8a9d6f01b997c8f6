"""The measure report's output formats: the reference JSON, CSV (entity rows or patient rows) and
CMS QPP submission JSON.

Every function here takes the document ``engine.compute`` returns (docs/measures.md) and is pure:
the command line and the REST API call the same functions, so their answers agree byte for byte.
``check_options`` is called before anything is computed: a format that cannot be produced for the
request is bad input (CLI exit 2, HTTP 400), not a late failure.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from carethread.core.json import JsonObject
from carethread.measures.programs import PROGRAMS, Level, Program, UnknownProgram, get
from carethread.measures.report import (
    Exclusions,
    PatientLine,
    Period,
    PolicyJson,
    Report,
    ResultRow,
    Score,
    ThresholdJson,
    WhatItTakes,
)
from carethread.measures.request import MeasureInputError, MeasureRequest

FORMATS = ("json", "csv", "qpp")

QPP_PROGRAMS = tuple(program.id for program in PROGRAMS.values() if program.qpp_measure_id)
QPP_ONLY_MIPS = f"QPP export is only for MIPS programs ({', '.join(QPP_PROGRAMS)})"
QPP_NO_EP = (
    "QPP has no submissions for eligible professionals (level ep); use level individual or group"
)
QPP_SUBMISSION_METHOD = "registry"


def _keys(shape: type) -> tuple[str, ...]:
    """The keys of a part of the report, in the order ``report.py`` declares them."""
    return tuple(shape.__annotations__)


# A measure's result, in a row and in each reading of it.
SCORE_KEYS = _keys(Score)
ENTITY_COLUMNS = (
    "tin",
    "npi",
    *SCORE_KEYS,
    "value",
    "no_office_visits",
    "broadband",
    "program",
    "measure_id",
    "period_start",
    "period_end",
    "level",
    "policy_actors",
    "policy_halo",
    "policy_exclude_pos",
    "policy_window",
)
PATIENT_COLUMNS = ("tin", "npi", "patient", "in_numerator", "reason", "evidence", "portal")

# Text a spreadsheet would read as a formula (or a command) when a cell starts with it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- checks made before computing ----------------------------------------------------------------


@dataclass(frozen=True)
class OutputOptions:
    """How a report is written: its format, whether CSV lists patients, the QPP CEHRT id."""

    format: str = "json"
    cehrt_id: str | None = None
    patients: bool = False


def check_options(
    request: MeasureRequest, format: str | None = None, cehrt_id: str | None = None
) -> OutputOptions:
    """The output options for ``request``, or ``MeasureInputError`` saying why they do not fit."""
    chosen = format or "json"
    if chosen not in FORMATS:
        raise MeasureInputError(f"unknown format {chosen!r}; formats: {', '.join(FORMATS)}")
    cehrt = cehrt_id or None
    if chosen == "qpp":
        check_qpp(request.program, request.level)
        if request.patients:
            raise MeasureInputError(
                "a QPP submission carries no patient list; ask for the patients in json or csv"
            )
        if cehrt is not None:
            cehrt = check_cehrt_id(cehrt)
    elif cehrt is not None:
        raise MeasureInputError("a CEHRT id is only written into the QPP format (format qpp)")
    return OutputOptions(format=chosen, cehrt_id=cehrt, patients=request.patients)


def check_qpp(program: Program, level: Level | str) -> None:
    """Refuse a QPP export for a program or level QPP has no submission for."""
    if program.qpp_measure_id is None or program.qpp_category is None:
        raise MeasureInputError(QPP_ONLY_MIPS)
    if Level(level) == Level.EP:
        raise MeasureInputError(QPP_NO_EP)


def check_cehrt_id(value: str) -> str:
    """The CMS EHR Certification ID (from the CHPL): 15 letters and digits."""
    text = value.strip()
    if len(text) != 15 or not (text.isascii() and text.isalnum()):
        raise MeasureInputError(
            "the CEHRT id is the 15-character CMS EHR Certification ID (letters and digits), "
            f"not {value!r}"
        )
    return text.upper()


# -- JSON ----------------------------------------------------------------------------------------

# Keys in the order report.py declares them; keys not listed follow, alphabetically.
_KEY_ORDER: dict[str, tuple[str, ...]] = {
    "document": _keys(Report),
    "period": _keys(Period),
    "policy": _keys(PolicyJson),
    "row": _keys(ResultRow),
    "exclusions": _keys(Exclusions),
    "what_it_takes": _keys(WhatItTakes),
    "reading": ("actors", "halo", *SCORE_KEYS, "applied"),
    "patient": _keys(PatientLine),
}
# Where each kind of object sits: (parent kind, key) -> kind of the value (or of its items).
_CHILDREN: dict[tuple[str, str], str] = {
    ("document", "period"): "period",
    ("document", "policy"): "policy",
    ("document", "results"): "row",
    ("row", "exclusions"): "exclusions",
    ("row", "what_it_takes"): "what_it_takes",
    ("row", "readings"): "reading",
    ("row", "patients"): "patient",
}


def _ordered(value: object, kind: str) -> object:
    if isinstance(value, list):
        return [_ordered(item, kind) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        key: _ordered(value[key], _CHILDREN.get((kind, key), ""))
        for key in _ordered_keys(value, kind)
    }


_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": ")).encode


def to_json(doc: Report) -> str:
    """The reference JSON, keys in a fixed order: the same document always gives the same text,
    however its dictionaries were built. One line per top-level member and per result row, and
    one line per patient of a row's list (a report of a million visits stays quick to write and
    easy to read line by line)."""
    lines = ["{"]
    fields: Mapping[str, object] = doc
    members = list(_ordered_keys(fields, "document"))
    for position, key in enumerate(members):
        comma = "," if position < len(members) - 1 else ""
        if key == "results" and isinstance(fields[key], list):
            lines.append('  "results": [')
            rows = doc["results"]
            for index, row in enumerate(rows):
                row_comma = "," if index < len(rows) - 1 else ""
                lines.append("    " + _row_json(row) + row_comma)
            lines.append("  ]" + comma)
        else:
            value = _ordered(fields[key], _CHILDREN.get(("document", key), ""))
            lines.append(f"  {_ENCODE(key)}: {_ENCODE(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _row_json(row: ResultRow) -> str:
    patients = row.get("patients")
    fields: Mapping[str, object] = row
    head = {key: fields[key] for key in _ordered_keys(fields, "row") if key != "patients"}
    text = _ENCODE(_ordered(head, "row"))
    if not isinstance(patients, list):
        return text
    if not patients:
        return text[:-1] + ', "patients": []}'
    order = _KEY_ORDER["patient"]
    entries = ",\n".join(
        "      " + _ENCODE(p if tuple(p) == order else _ordered(p, "patient")) for p in patients
    )
    return text[:-1] + ', "patients": [\n' + entries + "\n    ]}"


def _ordered_keys(value: Mapping[str, object], kind: str) -> list[str]:
    known = _KEY_ORDER.get(kind, ())
    return [key for key in known if key in value] + sorted(k for k in value if k not in known)


def submissions_json(submissions: list[JsonObject]) -> str:
    return json.dumps(submissions, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# -- CSV -----------------------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    # Keep spreadsheets from reading a cell as a formula (MRNs and identifiers come from imports).
    return "'" + text if text.startswith(_FORMULA_START) else text


def _threshold_cell(threshold: ThresholdJson | None) -> str:
    if not threshold:
        return ""
    return " ".join(f"{name}={_cell(value)}" for name, value in sorted(threshold.items()))


def _exclude_pos_cell(codes: Iterable[str] | None) -> str:
    listed = list(codes or [])
    return ",".join(_cell(code) for code in listed) if listed else "none"


def _write(header: tuple[str, ...], rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    # RFC 4180 line ends: with "\n" alone the csv module would leave a cell holding a bare "\r"
    # unquoted, and a reader would split the row there.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def entity_csv(doc: Report) -> str:
    """One row per entity; each row repeats the program, period, level and policies, so a row
    taken out of the file still says what it measures."""
    period, policy = doc["period"], doc["policy"]
    measured = (doc["program"], doc["measure_id"], period["start"], period["end"], doc["level"])
    context = [
        *map(_cell, measured),
        _cell(policy["actors"]),
        _cell(policy["halo"]),
        _exclude_pos_cell(policy["exclude_pos"]),
        _cell(policy["window"]),
    ]
    rows = []
    for row in doc["results"]:
        counted = (row["tin"], row["npi"], row["numerator"], row["denominator"], row["rate"])
        judged = (row["met"], row["points"], row.get("value"))
        excluded = (row["exclusions"]["no_office_visits"], row["exclusions"]["broadband"])
        rows.append(
            [
                *map(_cell, counted),
                _threshold_cell(row["threshold"]),
                *map(_cell, (*judged, *excluded)),
                *context,
            ]
        )
    return _write(ENTITY_COLUMNS, rows)


def patient_csv(doc: Report) -> str:
    """One row per (entity, denominator patient); the evidence identifiers joined by spaces."""
    rows = []
    for row in doc["results"]:
        tin, npi = _cell(row["tin"]), _cell(row["npi"])
        for entry in row.get("patients") or []:
            # The evidence is checked as a whole: its first identifier is what a spreadsheet reads.
            evidence = " ".join(entry["evidence"])
            cells = (entry["patient"], entry["in_numerator"], entry["reason"], evidence)
            rows.append([tin, npi, *map(_cell, cells), _cell(entry["portal"])])
    return _write(PATIENT_COLUMNS, rows)


# -- QPP -----------------------------------------------------------------------------------------


def _program_of(doc: Report) -> Program:
    try:
        return get(doc["program"])
    except UnknownProgram as exc:
        raise MeasureInputError(str(exc)) from None


def _digits(value: str | None, length: int, name: str) -> str:
    text = "" if value is None else str(value)
    if len(text) != length or not (text.isascii() and text.isdigit()):
        raise ValueError(f"a QPP submission needs a {length}-digit {name}, not {text!r}")
    return text


def qpp(doc: Report, cehrt_id: str | None = None) -> list[JsonObject]:
    """One QPP submission object per result row (``individual``: per TIN and NPI; ``group``: per
    TIN), carrying the program's measure id and category and the row's numerator and
    denominator. Raises ``MeasureInputError`` for a program or level QPP has no submission for."""
    program = _program_of(doc)
    check_qpp(program, doc["level"])
    assert program.qpp_measure_id is not None and program.qpp_category is not None
    if doc["measure_id"] not in (None, program.qpp_measure_id):
        raise ValueError(
            f"the document's measure id {doc['measure_id']!r} is not "
            f"{program.qpp_measure_id!r}, the measure id of {program.id}"
        )
    individual = Level(doc["level"]) == Level.INDIVIDUAL
    cehrt = check_cehrt_id(cehrt_id) if cehrt_id else None
    period = doc["period"]
    submissions: list[JsonObject] = []
    for row in doc["results"]:
        numerator, denominator = row["numerator"], row["denominator"]
        if not (isinstance(numerator, int) and isinstance(denominator, int)):
            raise ValueError("a QPP proportion needs integer numerator and denominator")
        if not 0 <= numerator <= denominator:
            raise ValueError(
                f"a QPP proportion needs 0 <= numerator <= denominator, not "
                f"{numerator}/{denominator}"
            )
        submission: JsonObject = {
            "entityType": "individual" if individual else "group",
            "taxpayerIdentificationNumber": _digits(row["tin"], 9, "TIN"),
        }
        if individual:
            submission["nationalProviderIdentifier"] = _digits(row["npi"], 10, "NPI")
        measurement_set: JsonObject = {
            "category": program.qpp_category,
            "submissionMethod": QPP_SUBMISSION_METHOD,
            "performanceStart": period["start"],
            "performanceEnd": period["end"],
        }
        if cehrt is not None:
            measurement_set["cehrtId"] = cehrt
        measurement_set["measurements"] = [
            {
                "measureId": program.qpp_measure_id,
                "value": {"numerator": numerator, "denominator": denominator},
            }
        ]
        submission["performanceYear"] = program.year
        submission["measurementSets"] = [measurement_set]
        submissions.append(submission)
    return submissions


# -- one entry point for the command line and the API -------------------------------------------


@dataclass(frozen=True)
class Rendered:
    text: str
    content_type: str
    rows: int
    patients: int


def render(doc: Report, options: OutputOptions) -> Rendered:
    """The report in the chosen format, with the counts its audit entry records."""
    if options.format == "qpp":
        text = submissions_json(qpp(doc, options.cehrt_id))
        content_type = "application/json"
    elif options.format == "csv":
        text = patient_csv(doc) if options.patients else entity_csv(doc)
        content_type = "text/csv; charset=utf-8"
    else:
        text = to_json(doc)
        content_type = "application/json"
    rows, patients = counts(doc)
    return Rendered(text=text, content_type=content_type, rows=rows, patients=patients)


def counts(doc: Report) -> tuple[int, int]:
    """(result rows, distinct patients listed): the only numbers an audit entry keeps."""
    results = doc["results"]
    listed = {entry["patient"] for row in results for entry in row.get("patients") or []}
    return len(results), len(listed)


def audit_details(
    request: MeasureRequest, options: OutputOptions, rows: int, patients: int
) -> JsonObject:
    """What the audit entry of a report says: codes and counts, never an MRN or a name."""
    return {
        "program": request.program.id,
        "level": str(request.level),
        "format": options.format,
        "rows": rows,
        "patients": patients,
        "with_patients": options.patients,
    }
