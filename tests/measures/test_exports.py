"""The report's formats on hand-built documents: the reference JSON (stable text), the entity and
patient CSVs (formula-safe cells) and the QPP submissions, checked against CMS's measure metadata
(``fixtures/qpp-secure-messaging-measures.json``) and the shape of CMS's submission example."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest

from carethread.measures import exports
from carethread.measures.programs import PROGRAMS, Level, get
from carethread.measures.request import MeasureInputError, MeasureRequest

FIXTURES = Path(__file__).parent / "fixtures"
QPP_META = {
    m["measureId"]: m
    for m in json.loads((FIXTURES / "qpp-secure-messaging-measures.json").read_text())
}
MIPS = ["aci-2017", "aci-trans-2017", "pi-2018", "pi-trans-2018"]
NOT_MIPS = [program_id for program_id in PROGRAMS if program_id not in MIPS]

# The keys of CMS's own example submission (qpp-submission-example-pi-2018.json).
SUBMISSION_KEYS = [
    "entityType",
    "taxpayerIdentificationNumber",
    "nationalProviderIdentifier",
    "performanceYear",
    "measurementSets",
]
MEASUREMENT_SET_KEYS = [
    "category",
    "submissionMethod",
    "performanceStart",
    "performanceEnd",
    "measurements",
]


def row(tin="271234567", npi="1234567893", numerator=3, denominator=10, **extra):
    rate = None if not denominator else numerator / denominator
    return {
        "tin": tin,
        "npi": npi,
        "numerator": numerator,
        "denominator": denominator,
        "rate": rate,
        "threshold": None,
        "met": None,
        "points": 3,
        "exclusions": {"no_office_visits": False, "broadband": None},
        "what_it_takes": {"goal": "points", "points": 4, "more_patients": 1},
        "readings": [
            {
                "actors": "clinician",
                "halo": False,
                "numerator": numerator,
                "rate": rate,
                "met": None,
                "points": 3,
                "applied": True,
            }
        ],
        **extra,
    }


def document(program="pi-2018", level="individual", rows=None, **extra):
    program_row = get(program)
    return {
        "program": program,
        "measure_id": program_row.qpp_measure_id,
        "period": {"start": f"{program_row.year}-01-01", "end": f"{program_row.year}-12-31"},
        "level": level,
        "policy": {
            "actors": "clinician",
            "halo": False,
            "exclude_pos": ["21", "23"],
            "window": "period",
        },
        "warnings": [],
        "results": [row()] if rows is None else rows,
        **extra,
    }


def reversed_keys(value):
    """The same value with every dictionary built in the opposite key order."""
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(item) for item in value]
    return value


def request_for(program="pi-2018", level=None, patients=False):
    chosen = get(program)
    return MeasureRequest(
        program=chosen,
        start=dt.date(chosen.year, 1, 1),
        end=dt.date(chosen.year, 12, 31),
        level=Level(level) if level else chosen.default_level,
        patients=patients,
    )


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


# -- JSON ----------------------------------------------------------------------------------------


def test_json_text_is_the_same_however_the_document_was_built():
    doc = document(rows=[row(patients=[{"patient": "MRN-1", "in_numerator": True,
                                        "reason": "clinician-sent", "evidence": ["m-1"],
                                        "portal": "enrolled"}])])  # fmt: skip
    text = exports.to_json(doc)
    assert exports.to_json(reversed_keys(doc)) == text
    assert exports.to_json(copy.deepcopy(doc)) == text
    assert json.loads(text) == doc
    assert text.endswith("}\n")


def test_json_keys_follow_the_interface_order_and_indent_by_two():
    doc = reversed_keys(document(rows=[row(zeta="extra", alpha="extra")]))
    text = exports.to_json(doc)
    parsed = json.loads(text)
    assert list(parsed) == [
        "program",
        "measure_id",
        "period",
        "level",
        "policy",
        "warnings",
        "results",
    ]
    assert list(parsed["policy"]) == ["actors", "halo", "exclude_pos", "window"]
    first = parsed["results"][0]
    assert list(first)[:5] == ["tin", "npi", "numerator", "denominator", "rate"]
    # Keys the interface does not list come last, alphabetically.
    assert list(first)[-2:] == ["alpha", "zeta"]
    assert list(first["what_it_takes"]) == ["goal", "points", "more_patients"]
    assert list(first["readings"][0]) == [
        "actors",
        "halo",
        "numerator",
        "rate",
        "met",
        "points",
        "applied",
    ]
    assert text.startswith('{\n  "program": "pi-2018",\n  "measure_id": "PI_CCTPE_2",\n')


def test_json_refuses_values_json_cannot_carry():
    with pytest.raises(ValueError):
        exports.to_json(document(rows=[row(rate=float("nan"))]))


# -- CSV -----------------------------------------------------------------------------------------


def test_entity_csv_has_one_self_contained_row_per_entity():
    doc = document(
        program="stage3-2019",
        level="ep",
        rows=[
            row(tin=None, npi="1234567893", numerator=1, denominator=40)
            | {"threshold": {"rate_gt": 0.05}, "met": False, "points": None},
            row(tin=None, npi="1234567901", numerator=0, denominator=0)
            | {"threshold": {"rate_gt": 0.05}, "met": False, "points": None, "rate": None},
        ],
    )
    doc["policy"]["exclude_pos"] = []
    text = exports.entity_csv(doc)
    assert text.splitlines()[0] == ",".join(exports.ENTITY_COLUMNS)
    assert text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", "")
    first, second = read_csv(text)
    assert first == {
        "tin": "",
        "npi": "1234567893",
        "numerator": "1",
        "denominator": "40",
        "rate": "0.025",
        "threshold": "rate_gt=0.05",
        "met": "false",
        "points": "",
        "value": "",
        "no_office_visits": "false",
        "broadband": "",
        "program": "stage3-2019",
        "measure_id": "",
        "period_start": "2019-01-01",
        "period_end": "2019-12-31",
        "level": "ep",
        "policy_actors": "clinician",
        "policy_halo": "false",
        "policy_exclude_pos": "none",
        "policy_window": "period",
    }
    assert second["rate"] == "" and second["denominator"] == "0"


def test_entity_csv_of_the_capability_program_carries_the_value():
    doc = document(
        program="mod2-2015",
        level="ep",
        rows=[
            row(tin=None, numerator=None, denominator=None, value=True)
            | {"rate": None, "points": None, "readings": []}
        ],
    )
    (only,) = read_csv(exports.entity_csv(doc))
    assert only["value"] == "true"
    assert only["numerator"] == only["denominator"] == only["rate"] == ""
    assert only["policy_exclude_pos"] == "21,23"


def test_entity_csv_of_a_scored_program():
    (only,) = read_csv(exports.entity_csv(document()))
    assert (only["tin"], only["npi"], only["points"], only["rate"]) == (
        "271234567",
        "1234567893",
        "3",
        "0.3",
    )
    assert only["measure_id"] == "PI_CCTPE_2" and only["threshold"] == ""


def patient(mrn, in_numerator=False, reason="no-message", evidence=(), portal="enrolled"):
    return {
        "patient": mrn,
        "in_numerator": in_numerator,
        "reason": reason,
        "evidence": list(evidence),
        "portal": portal,
    }


def test_patient_csv_has_one_row_per_entity_and_patient():
    doc = document(
        level="individual",
        rows=[
            row(patients=[patient("MRN-1", True, "clinician-replied", ["msg-1", "msg-7"])]),
            row(
                npi="1234567901",
                patients=[
                    patient("MRN-1", portal="not-enrolled"),
                    patient("MRN-2", reason="sent-by-staff", evidence=["msg-9"]),
                ],
            ),
        ],
    )
    rows = read_csv(exports.patient_csv(doc))
    assert list(rows[0]) == list(exports.PATIENT_COLUMNS)
    assert [(r["npi"], r["patient"]) for r in rows] == [
        ("1234567893", "MRN-1"),
        ("1234567901", "MRN-1"),
        ("1234567901", "MRN-2"),
    ]
    assert rows[0] == {
        "tin": "271234567",
        "npi": "1234567893",
        "patient": "MRN-1",
        "in_numerator": "true",
        "reason": "clinician-replied",
        "evidence": "msg-1 msg-7",
        "portal": "enrolled",
    }
    assert rows[1]["evidence"] == "" and rows[1]["portal"] == "not-enrolled"
    assert rows[2]["in_numerator"] == "false"


@pytest.mark.parametrize(
    "mrn", ['=HYPERLINK("http://x")', "+1-555", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"]
)
def test_csv_cells_cannot_start_a_spreadsheet_formula(mrn):
    doc = document(rows=[row(patients=[patient(mrn, evidence=[mrn, "msg-1"])])])
    (only,) = read_csv(exports.patient_csv(doc))
    assert only["patient"] == "'" + mrn
    assert only["evidence"] == "'" + mrn + " msg-1"
    doc = document(rows=[row(tin=mrn)])
    assert read_csv(exports.entity_csv(doc))[0]["tin"] == "'" + mrn


@pytest.mark.parametrize("mrn", ['A,"B"\nC', "A\rB", "A\r\nB"])
def test_csv_quotes_commas_quotes_and_line_breaks(mrn):
    doc = document(rows=[row(patients=[patient(mrn)])])
    text = exports.patient_csv(doc)
    (only,) = read_csv(text)
    assert only["patient"] == mrn
    # Read as a spreadsheet would: split into records on line ends outside quotes.
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == 2


def test_patient_csv_without_patients_is_the_header_alone():
    assert exports.patient_csv(document(rows=[])) == ",".join(exports.PATIENT_COLUMNS) + "\r\n"


# -- QPP -----------------------------------------------------------------------------------------

TIN = re.compile(r"^[0-9]{9}$")
NPI = re.compile(r"^[0-9]{10}$")


def check_against_cms(program_id, submission, row_in):
    """The submission against CMS's metadata of the program's measure."""
    program = get(program_id)
    meta = QPP_META[program.qpp_measure_id]
    assert submission["performanceYear"] == meta["performanceYear"] == program.year
    (measurement_set,) = submission["measurementSets"]
    assert measurement_set["category"] == meta["category"]
    assert measurement_set["submissionMethod"] == "registry"
    (measurement,) = measurement_set["measurements"]
    assert measurement["measureId"] == meta["measureId"]
    # A proportion measure: the value is a numerator and a denominator (integers), n <= d.
    assert meta["metricType"] == "proportion"
    value = measurement["value"]
    assert set(value) == {"numerator", "denominator"}
    assert all(type(value[key]) is int for key in value)
    assert 0 <= value["numerator"] <= value["denominator"]
    assert (value["numerator"], value["denominator"]) == (
        row_in["numerator"],
        row_in["denominator"],
    )
    assert TIN.match(submission["taxpayerIdentificationNumber"])


@pytest.mark.parametrize("program_id", MIPS)
def test_individual_submissions_match_cms_metadata(program_id):
    rows = [row(numerator=3, denominator=10), row(npi="1234567901", numerator=0, denominator=5)]
    doc = document(program=program_id, rows=rows)
    submissions = exports.qpp(doc)
    assert len(submissions) == 2
    for submission, row_in in zip(submissions, rows, strict=True):
        check_against_cms(program_id, submission, row_in)
        assert list(submission) == SUBMISSION_KEYS
        assert submission["entityType"] == "individual"
        assert NPI.match(submission["nationalProviderIdentifier"])
        assert submission["nationalProviderIdentifier"] == row_in["npi"]
        assert submission["taxpayerIdentificationNumber"] == row_in["tin"]
        measurement_set = submission["measurementSets"][0]
        assert list(measurement_set) == MEASUREMENT_SET_KEYS
        assert measurement_set["performanceStart"] == doc["period"]["start"]
        assert measurement_set["performanceEnd"] == doc["period"]["end"]


@pytest.mark.parametrize("program_id", MIPS)
def test_group_submissions_have_no_npi(program_id):
    rows = [row(npi=None, numerator=7, denominator=9)]
    submissions = exports.qpp(document(program=program_id, level="group", rows=rows))
    (submission,) = submissions
    check_against_cms(program_id, submission, rows[0])
    assert submission["entityType"] == "group"
    assert "nationalProviderIdentifier" not in submission


# CMS's example PI 2018 submission (qpp-submission-example-pi-2018.json), cut to one measurement.
CMS_EXAMPLE = {
    "entityType": "individual",
    "taxpayerIdentificationNumber": "000456789",
    "nationalProviderIdentifier": "9876543210",
    "performanceYear": 2018,
    "measurementSets": [
        {
            "category": "pi",
            "submissionMethod": "registry",
            "performanceStart": "2018-01-01",
            "performanceEnd": "2018-06-01",
            "measurements": [
                {"measureId": "PI_EP_1", "value": {"numerator": 150, "denominator": 200}}
            ],
        }
    ],
}


def test_the_submission_has_the_shape_of_cms_example():
    example = CMS_EXAMPLE
    (submission,) = exports.qpp(document(), cehrt_id="0015H8ZK0ES2S3B")
    assert set(submission) == set(example)
    assert set(submission["measurementSets"][0]) == set(example["measurementSets"][0]) | {"cehrtId"}
    assert submission["measurementSets"][0]["cehrtId"] == "0015H8ZK0ES2S3B"
    assert type(submission["performanceYear"]) is type(example["performanceYear"])
    measurement = submission["measurementSets"][0]["measurements"][0]
    example_measurement = example["measurementSets"][0]["measurements"][0]
    assert set(measurement) == set(example_measurement)
    assert set(measurement["value"]) == set(example_measurement["value"])


def test_submissions_json_is_stable():
    doc = document(rows=[row(), row(npi="1234567901")])
    text = exports.submissions_json(exports.qpp(doc))
    assert text == exports.submissions_json(exports.qpp(reversed_keys(doc)))
    assert json.loads(text)[1]["nationalProviderIdentifier"] == "1234567901"
    assert text.startswith('[\n  {\n    "entityType": "individual",\n')


@pytest.mark.parametrize("program_id", NOT_MIPS)
def test_qpp_refuses_programs_outside_mips(program_id):
    with pytest.raises(MeasureInputError) as refused:
        exports.qpp(document(program=program_id, level="ep"))
    assert str(refused.value) == (
        "QPP export is only for MIPS programs (aci-2017, aci-trans-2017, pi-2018, pi-trans-2018)"
    )


def test_qpp_refuses_level_ep():
    with pytest.raises(MeasureInputError, match="no submissions for eligible professionals"):
        exports.qpp(document(level="ep", rows=[row(tin=None)]))


@pytest.mark.parametrize(
    "bad",
    [
        {"numerator": 11, "denominator": 10},
        {"numerator": -1, "denominator": 10},
        {"numerator": None, "denominator": None},
        {"tin": "27123456"},
        {"tin": "27123456x"},
        {"npi": "123456789"},
        {"npi": None},
    ],
)
def test_qpp_never_writes_an_invalid_submission(bad):
    with pytest.raises(ValueError):
        exports.qpp(document(rows=[row() | bad]))


def test_qpp_refuses_a_document_whose_measure_id_is_not_the_programs():
    with pytest.raises(ValueError, match="PI_CCTPE_2"):
        exports.qpp(document() | {"measure_id": "ACI_CCTPE_2"})


# -- options checked before computing ------------------------------------------------------------


def test_check_options_defaults_to_json():
    options = exports.check_options(request_for())
    assert options == exports.OutputOptions(format="json", cehrt_id=None, patients=False)


@pytest.mark.parametrize(
    ("program", "level", "fmt", "cehrt", "patients", "message"),
    [
        ("pi-2018", None, "xml", None, False, "unknown format 'xml'; formats: json, csv, qpp"),
        ("mu2-2014", None, "qpp", None, False, "QPP export is only for MIPS programs"),
        ("stage3-2019", "individual", "qpp", None, False, "QPP export is only for MIPS"),
        ("pi-2018", "ep", "qpp", None, False, "no submissions for eligible professionals"),
        ("pi-2018", None, "qpp", None, True, "carries no patient list"),
        ("pi-2018", None, "json", "0015H8ZK0ES2S3B", False, "only written into the QPP format"),
        ("pi-2018", None, "qpp", "short", False, "15-character CMS EHR Certification ID"),
        ("pi-2018", None, "qpp", "0015H8ZK0ES2S3=", False, "15-character"),
    ],
)
def test_check_options_refuses(program, level, fmt, cehrt, patients, message):
    request = request_for(program, level, patients)
    with pytest.raises(MeasureInputError, match=re.escape(message)):
        exports.check_options(request, fmt, cehrt)


def test_check_options_accepts_qpp_for_mips_with_a_cehrt_id():
    options = exports.check_options(request_for("aci-2017", "group"), "qpp", "0015h8zk0es2s3b")
    assert options == exports.OutputOptions(format="qpp", cehrt_id="0015H8ZK0ES2S3B")


# -- render: what the command line and the API both send ----------------------------------------


def test_render_picks_the_format_and_counts_for_the_audit_entry():
    doc = document(
        rows=[
            row(patients=[patient("MRN-1"), patient("MRN-2")]),
            row(npi="1234567901", patients=[patient("MRN-2")]),
        ]
    )
    as_json = exports.render(doc, exports.OutputOptions("json"))
    assert as_json.text == exports.to_json(doc)
    assert (as_json.rows, as_json.patients) == (2, 2)
    as_csv = exports.render(doc, exports.OutputOptions("csv", patients=True))
    assert as_csv.text == exports.patient_csv(doc)
    assert as_csv.content_type.startswith("text/csv")
    assert exports.render(doc, exports.OutputOptions("csv")).text == exports.entity_csv(doc)
    as_qpp = exports.render(doc, exports.OutputOptions("qpp"))
    assert json.loads(as_qpp.text) == exports.qpp(doc)
    details = exports.audit_details(
        request_for(patients=True), exports.OutputOptions("csv", patients=True), 2, 2
    )
    assert details == {
        "program": "pi-2018",
        "level": "individual",
        "format": "csv",
        "rows": 2,
        "patients": 2,
        "with_patients": True,
    }
    assert "MRN" not in json.dumps(details)
