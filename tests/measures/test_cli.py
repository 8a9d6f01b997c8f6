"""``carethread measure``: bad input exits 2 with its message, computes nothing and writes no
file; a good run writes JSON, CSV or QPP to stdout or (atomically) to --output and records the
report in the audit trail without PHI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connections
from django.utils import timezone
from support.world import answered_question, build_world

from carethread.audit.models import AuditEvent
from carethread.cli import main
from carethread.measures import engine, exports
from carethread.measures.management.commands import measure as command

pytestmark = pytest.mark.django_db

TIN = "271234567"
NPI = "1234567893"  # c1 of build_world
MIPS_MESSAGE = (
    "QPP export is only for MIPS programs (aci-2017, aci-trans-2017, pi-2018, pi-trans-2018)"
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    """A command run from the command line closes every database connection when it ends; in a
    test that is the connection holding the test's transaction (PostgreSQL): keep it open."""
    monkeypatch.setattr(connections, "close_all", lambda: None)


@pytest.fixture
def world(db):
    """build_world, plus a patient question that c1 answered: c1 saw three patients (one of them
    answered, one blocked, one not enrolled)."""
    w = build_world()
    answered_question(w)
    return w


@pytest.fixture
def period():
    today = timezone.localdate()
    return ["--start", str(today - dt.timedelta(days=365)), "--end", str(today)]


def run(capsys, *args):
    code = main(["measure", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- bad input -----------------------------------------------------------------------------------


@pytest.fixture
def no_compute(monkeypatch):
    """Bad input must be refused before the engine runs."""

    def refuse(*args, **kwargs):
        raise AssertionError("computed a report for bad input")

    monkeypatch.setattr(engine, "compute", refuse)


def county_file(tmp_path, text):
    path = tmp_path / "counties.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def year(program, first="2018-01-01", last="2018-12-31"):
    return ["--program", program, "--start", first, "--end", last]


PI = year("pi-2018")
BAD = [
    (year("pi-2099"), "unknown program 'pi-2099'; known programs: mu2-2014"),
    (
        year("pi-2018", "2018-12-31", "2018-01-01"),
        "the end date 2018-01-01 is before the start date 2018-12-31",
    ),
    (year("pi-2018", "2018-02-30"), "start must be a date YYYY-MM-DD, not '2018-02-30'"),
    ([*PI, "--tin", "999999999"], "no organisation has TIN '999999999'"),
    ([*PI, "--npi", "1111111112"], "no practitioner has NPI '1111111112'"),
    ([*PI, "--level", "clinic"], "unknown level 'clinic'; levels: individual, group, ep"),
    ([*PI, "--policy", "halo=maybe"], "policy halo is true or false, not 'maybe'"),
    ([*year("mod2-2017", "2017-01-01", "2017-12-31"), "--format", "qpp"], MIPS_MESSAGE),
    ([*year("stage3-2018"), "--format", "qpp", "--level", "individual"], MIPS_MESSAGE),
    (
        [*PI, "--format", "qpp", "--level", "ep"],
        "QPP has no submissions for eligible professionals (level ep)",
    ),
    ([*PI, "--format", "qpp", "--patients"], "a QPP submission carries no patient list"),
    ([*PI, "--format", "xlsx"], "unknown format 'xlsx'; formats: json, csv, qpp"),
    ([*PI, "--cehrt-id", "0015H8ZK0ES2S3B"], "a CEHRT id is only written into the QPP format"),
    (
        [*PI, "--format", "qpp", "--cehrt-id", "nope"],
        "the CEHRT id is the 15-character CMS EHR Certification ID",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[m[:40] for _a, m in BAD])
def test_bad_input_exits_2_with_its_message_and_writes_nothing(
    world, capsys, tmp_path, no_compute, args, message
):
    output = tmp_path / "report.json"
    code, out, err = run(capsys, *args, "--output", str(output))
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert out == ""
    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action="measure.report").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "state,county\nMA,Middlesex,extra\n",
            "line 2: expected 2 columns (state,county), found 3",
        ),
        ("Massachusetts,Middlesex\n", "line 1: expected a 2-letter state and a county name"),
        ("state,county\n", "no counties in the file"),
    ],
)
def test_a_malformed_county_list_exits_2(world, capsys, tmp_path, no_compute, text, message):
    counties = county_file(tmp_path, text)
    output = tmp_path / "out.json"
    code, _out, err = run(
        capsys,
        *("--program", "mod2-2017", "--start", "2017-01-01", "--end", "2017-12-31"),
        *("--low-broadband-counties", counties, "--output", str(output)),
    )
    assert code == 2
    assert message in err and "low-broadband county list" in err
    assert not output.exists()


def test_an_unreadable_county_list_exits_2(world, capsys, tmp_path, no_compute):
    missing = tmp_path / "nowhere.csv"
    code, _out, err = run(
        capsys,
        *("--program", "mod2-2017", "--start", "2017-01-01", "--end", "2017-12-31"),
        *("--low-broadband-counties", str(missing)),
    )
    assert code == 2
    assert f"cannot read the low-broadband county list {missing}" in err
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"MA,\xff\xfe\n")
    code, _out, err = run(
        capsys,
        *("--program", "mod2-2017", "--start", "2017-01-01", "--end", "2017-12-31"),
        *("--low-broadband-counties", str(binary)),
    )
    assert code == 2
    assert "is not UTF-8 text" in err


def test_an_output_in_a_missing_folder_exits_2_before_computing(
    world, capsys, tmp_path, no_compute
):
    output = tmp_path / "no" / "such" / "report.json"
    code, _out, err = run(
        capsys,
        *("--program", "pi-2018", "--start", "2018-01-01", "--end", "2018-12-31"),
        *("--output", str(output)),
    )
    assert code == 2
    assert f"cannot write {output}: no folder" in err
    code, _out, err = run(
        capsys,
        *("--program", "pi-2018", "--start", "2018-01-01", "--end", "2018-12-31"),
        *("--output", str(tmp_path)),
    )
    assert code == 2
    assert "it is a directory" in err


def test_a_missing_required_option_exits_2(capsys, no_compute):
    code, _out, err = run(capsys, "--program", "pi-2018", "--start", "2018-01-01")
    assert code == 2
    assert "--end" in err


# -- good runs -----------------------------------------------------------------------------------


def measure_events():
    return list(AuditEvent.objects.filter(action="measure.report").order_by("seq"))


def test_json_to_stdout_is_the_engine_document(world, capsys, period):
    code, out, err = run(capsys, "--program", "pi-2018", *period)
    assert code == 0, err
    doc = json.loads(out)
    assert out == exports.to_json(doc)
    assert doc["program"] == "pi-2018" and doc["measure_id"] == "PI_CCTPE_2"
    assert doc["level"] == "individual"
    (row,) = [r for r in doc["results"] if r["npi"] == NPI]
    assert (row["tin"], row["numerator"], row["denominator"]) == (TIN, 1, 3)
    assert row["points"] == 4
    assert "patients" not in row
    # The period is outside 2018: the numbers are computed, with a warning on stderr too.
    assert doc["warnings"] and "warning:" in err
    (event,) = measure_events()
    assert event.actor_label.startswith("cli:") and event.actor_role == "operator"
    assert event.details == {
        "program": "pi-2018",
        "level": "individual",
        "format": "json",
        "rows": len(doc["results"]),
        "patients": 0,
        "with_patients": False,
    }
    assert event.patient_id is None


def test_patient_csv_to_a_file(world, capsys, tmp_path, period):
    output = tmp_path / "patients.csv"
    code, out, err = run(
        capsys,
        *("--program", "pi-2018", *period, "--npi", NPI, "--patients"),
        *("--format", "csv", "--output", str(output)),
    )
    assert code == 0, err
    assert out == ""
    assert f"1 row(s) written to {output}" in err
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"), newline="")))
    assert [(r["patient"], r["in_numerator"], r["reason"], r["portal"]) for r in rows] == [
        ("RFM-1001", "true", "clinician-replied", "enrolled"),
        ("RFM-1003", "false", "no-message", "blocked"),
        ("RFM-1004", "false", "no-message", "not-enrolled"),
    ]
    assert rows[0]["evidence"]
    assert {r["tin"] for r in rows} == {TIN} and {r["npi"] for r in rows} == {NPI}
    # Only the temporary file's rename left anything in the folder.
    assert [p.name for p in tmp_path.iterdir()] == ["patients.csv"]
    (event,) = measure_events()
    assert event.details["with_patients"] is True and event.details["patients"] == 3
    text = json.dumps(event.details) + event.object_id + event.actor_label
    for mrn in ("RFM-1001", "RFM-1003", "RFM-1004", "Lopez"):
        assert mrn not in text


def test_entity_csv_to_stdout(world, capsys, period):
    code, out, err = run(capsys, "--program", "stage3-2021", *period, "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    (row,) = [r for r in rows if r["npi"] == NPI]
    assert (row["numerator"], row["denominator"], row["met"], row["threshold"]) == (
        "1",
        "3",
        "true",
        "rate_gt=0.05",
    )
    assert row["level"] == "ep" and row["program"] == "stage3-2021"


def test_qpp_for_a_clinician_to_a_file(world, capsys, tmp_path, period):
    output = tmp_path / "qpp.json"
    code, _out, err = run(
        capsys,
        *("--program", "pi-2018", *period, "--npi", NPI, "--format", "qpp"),
        *("--cehrt-id", "0015H8ZK0ES2S3B", "--output", str(output)),
    )
    assert code == 0, err
    (submission,) = json.loads(output.read_text())
    assert submission["entityType"] == "individual"
    assert submission["taxpayerIdentificationNumber"] == TIN
    assert submission["nationalProviderIdentifier"] == NPI
    assert submission["performanceYear"] == 2018
    measurement_set = submission["measurementSets"][0]
    assert measurement_set["category"] == "pi"
    assert measurement_set["cehrtId"] == "0015H8ZK0ES2S3B"
    assert measurement_set["measurements"] == [
        {"measureId": "PI_CCTPE_2", "value": {"numerator": 1, "denominator": 3}}
    ]
    (event,) = measure_events()
    assert event.details["format"] == "qpp"


def test_group_qpp_has_one_submission_per_tin(world, capsys, period):
    code, out, err = run(
        capsys, "--program", "aci-2017", *period, "--level", "group", "--format", "qpp"
    )
    assert code == 0, err
    submissions = json.loads(out)
    assert [s["taxpayerIdentificationNumber"] for s in submissions] == [TIN]
    assert submissions[0]["entityType"] == "group"
    assert submissions[0]["measurementSets"][0]["category"] == "aci"


def test_an_existing_output_is_replaced_whole(world, capsys, tmp_path, period):
    output = tmp_path / "report.json"
    output.write_text("old content that is much longer than nothing " * 100)
    code, _out, err = run(capsys, "--program", "pi-2018", *period, "--output", str(output))
    assert code == 0, err
    assert json.loads(output.read_text())["program"] == "pi-2018"


def test_a_failed_write_leaves_no_file_and_exits_2(world, capsys, tmp_path, period, monkeypatch):
    output = tmp_path / "report.json"

    def full_disk(fd, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(command.os, "fsync", full_disk)
    code, _out, err = run(capsys, "--program", "pi-2018", *period, "--output", str(output))
    assert code == 2
    assert "No space left on device" in err
    assert list(tmp_path.iterdir()) == []
    (event,) = measure_events()
    assert event.outcome == "failure"


def test_the_engine_reports_its_steps_on_a_terminal(world, capsys, period, monkeypatch):
    seen = []
    real = engine.compute

    def spy(request, on_step=None):
        seen.append(on_step)
        return real(request, on_step=on_step)

    monkeypatch.setattr(engine, "compute", spy)
    monkeypatch.setattr(command.sys.stderr, "isatty", lambda: True, raising=False)
    code, out, _err = run(capsys, "--program", "pi-2018", *period)
    assert code == 0
    assert callable(seen[0])
    assert json.loads(out)["program"] == "pi-2018"
    monkeypatch.setattr(command.sys.stderr, "isatty", lambda: False, raising=False)
    run(capsys, "--program", "pi-2018", *period)
    assert seen[1] is None
