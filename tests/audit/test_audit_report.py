"""The audit report: filters, sorting, CSV, bad input (exit 2), and the viewing being audited."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from carethread.audit.actions import append_entries, record
from carethread.audit.models import AuditEvent
from carethread.core.audit_report import HEADER, iter_rows, parse_filters
from carethread.core.models import Patient

pytestmark = pytest.mark.django_db
UTC = dt.UTC


@pytest.fixture
def trail(settings):
    """Six entries at known times, two users, two patients (one entry without a patient)."""
    settings.TIME_ZONE = "America/New_York"
    users = get_user_model().objects
    alice = users.create_user("alice@example.org")
    bob = users.create_user("bob@example.org")
    p1 = Patient.objects.create(mrn="MRN-001", family_name="Doe", birth_date=dt.date(1980, 1, 1))
    p2 = Patient.objects.create(mrn="MRN-002", family_name="Roe", birth_date=dt.date(1990, 1, 1))

    def entry(when, actor, patient, action, outcome="success", address="198.51.100.1"):
        return {
            "occurred_at": when,
            "actor_id": actor.pk,
            "actor_label": str(actor.uuid),
            "actor_role": "practice" if actor is alice else "patient",
            "patient_id": patient.pk if patient else None,
            "action": action,
            "object_type": "messaging.message",
            "object_id": f"msg-{when.day}",
            "outcome": outcome,
            "source_address": address,
            "details": {"count": when.day},
        }

    append_entries(
        [
            entry(dt.datetime(2025, 1, 8, 15, 0, tzinfo=UTC), alice, p1, "message.view"),
            # 22:00 on Jan 9 in New York
            entry(dt.datetime(2025, 1, 10, 3, 0, tzinfo=UTC), bob, p2, "auth.login"),
            entry(dt.datetime(2025, 1, 10, 16, 0, tzinfo=UTC), alice, p2, "message.send"),
            entry(
                dt.datetime(2025, 1, 11, 9, 0, tzinfo=UTC),
                bob,
                None,
                "auth.login_failed",
                "failure",
            ),
            entry(dt.datetime(2025, 1, 12, 9, 0, tzinfo=UTC), alice, p1, "message.send"),
            entry(
                dt.datetime(2025, 1, 13, 9, 0, tzinfo=UTC),
                bob,
                p1,
                "auth.login",
                "success",
                "2001:db8::1",
            ),
        ]
    )
    return {"alice": alice, "bob": bob, "p1": p1, "p2": p2}


def run_report(*args: str) -> list[dict[str, str]]:
    out = io.StringIO()
    call_command("audit", "report", *args, stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(HEADER)
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def seqs(rows):
    return [int(row["seq"]) for row in rows]


def test_all_columns(trail):
    rows = run_report()
    assert seqs(rows) == [1, 2, 3, 4, 5, 6]
    first = rows[0]
    assert first == {
        "seq": "1",
        "occurred_at": "2025-01-08T15:00:00.000000+00:00",
        "actor": str(trail["alice"].uuid),
        "actor_role": "practice",
        "patient": "MRN-001",
        "action": "message.view",
        "object_type": "messaging.message",
        "object_id": "msg-8",
        "outcome": "success",
        "source_address": "198.51.100.1",
        "details": '{"count":8}',
    }
    assert rows[3]["patient"] == ""
    assert rows[5]["source_address"] == "2001:db8::1"


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(trail):
    record("test.event", object_type="x", object_id="=HYPERLINK(1)", actor_role="+1")
    row = run_report("--sort", "-seq")[0]
    assert (row["object_id"], row["actor_role"]) == ("'=HYPERLINK(1)", "'+1")


def test_patients_are_looked_up_in_the_same_query(trail, django_assert_num_queries):
    filters = parse_filters()
    with django_assert_num_queries(1):
        assert len(list(iter_rows(filters))) == 6


def test_period_is_inclusive_days_in_the_practice_time_zone(trail):
    assert seqs(run_report("--start", "2025-01-10")) == [3, 4, 5, 6]
    assert seqs(run_report("--end", "2025-01-09")) == [1, 2]
    assert seqs(run_report("--start", "2025-01-10", "--end", "2025-01-11")) == [3, 4]
    assert seqs(run_report("--start", "2025-01-12", "--end", "2025-01-12")) == [5]


def test_filter_by_user_uuid_or_email(trail):
    assert seqs(run_report("--user", str(trail["alice"].uuid))) == [1, 3, 5]
    assert seqs(run_report("--user", "BOB@example.org")) == [2, 4, 6]


def test_filter_by_patient_action_and_outcome(trail):
    assert seqs(run_report("--patient", "MRN-001")) == [1, 5, 6]
    assert seqs(run_report("--action", "auth.login")) == [2, 6]
    assert seqs(run_report("--outcome", "failure")) == [4]
    assert seqs(run_report("--patient", "MRN-001", "--action", "message.send")) == [5]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-seq", [6, 5, 4, 3, 2, 1]),
        ("-occurred_at", [6, 5, 4, 3, 2, 1]),
        ("action,-seq", [6, 2, 4, 5, 3, 1]),
        ("-action", [1, 3, 5, 4, 2, 6]),
        ("outcome,occurred_at", [4, 1, 2, 3, 5, 6]),
        ("patient", [4, 1, 5, 6, 2, 3]),  # entries without a patient first
        ("-patient,-seq", [3, 2, 6, 5, 1, 4]),
        ("source_address,seq", [1, 2, 3, 4, 5, 6]),
        ("-source_address", [6, 1, 2, 3, 4, 5]),
        ("object_id", [2, 3, 4, 5, 6, 1]),  # text order: msg-10 ... msg-13, msg-8
    ],
)
def test_sort_by_any_column_either_way(trail, sort, expected):
    assert seqs(run_report("--sort", sort)) == expected


def test_sort_by_actor_and_role(trail):
    rows = run_report("--sort", "actor_role,seq")
    assert [row["actor_role"] for row in rows] == ["patient"] * 3 + ["practice"] * 3
    rows = run_report("--sort", "-actor,seq")
    labels = [row["actor"] for row in rows]
    assert labels == sorted(labels, reverse=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2025-02-30"], "--start must be a date"),
        (["--end", "yesterday"], "--end must be a date"),
        (["--start", "2025-02-01", "--end", "2025-01-31"], "--end is before --start"),
        (["--user", "nobody@example.org"], "no user with that email"),
        (["--user", "5b7c1f0e-0000-4000-8000-000000000000"], "no user with that UUID"),
        (["--user", "alice"], "UUID or email"),
        (["--patient", "MRN-404"], "no patient with that MRN"),
        (["--sort", "seq,-colour"], "unknown field 'colour'"),
        (["--outcome", "maybe"], "--outcome must be one of"),
        (["--action", "Login"], "dotted lowercase"),
    ],
)
def test_bad_filters_exit_2(trail, cli, capsys, args, message):
    before = AuditEvent.objects.count()
    assert cli(["audit", "report", *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""
    assert "MRN-404" not in captured.err
    assert AuditEvent.objects.count() == before


def test_output_file_and_viewing_is_audited(trail, tmp_path, cli, capsys):
    target = tmp_path / "audit.csv"
    args = ["--patient", "MRN-001", "--action", "auth.login", "--sort", "-seq", "--output"]
    assert cli(["audit", "report", *args, str(target)]) == 0
    with target.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(HEADER) and [row[0] for row in rows[1:]] == ["6"]
    viewing = AuditEvent.objects.order_by("-seq").first()
    assert viewing is not None
    assert viewing.action == "audit.report" and viewing.outcome == "success"
    assert viewing.patient_id == trail["p1"].pk
    assert viewing.details == {
        "filters": ["patient", "action"],
        "action": "auth.login",
        "sort": ["-seq"],
        "rows": 1,
        "format": "csv",
    }
    assert "MRN" not in str(viewing.details)
    assert viewing.actor_role == "operator"


def test_user_filter_is_recorded_as_the_object(trail):
    run_report("--user", "alice@example.org", "--start", "2025-01-01")
    viewing = AuditEvent.objects.order_by("-seq").first()
    assert viewing is not None
    assert (viewing.object_type, viewing.object_id) == ("accounts.user", str(trail["alice"].uuid))
    assert viewing.details["filters"] == ["start", "user"]
    assert viewing.details["rows"] == 3
    assert "alice" not in str(viewing.details)


def test_unwritable_output_exits_2_and_records_the_failure(trail, tmp_path, cli, capsys):
    assert cli(["audit", "report", "--output", str(tmp_path / "missing" / "a.csv")]) == 2
    assert "cannot write" in capsys.readouterr().err
    viewing = AuditEvent.objects.order_by("-seq").first()
    assert viewing is not None
    assert (viewing.action, viewing.outcome) == ("audit.report", "failure")


def test_deleted_user_is_still_found_by_uuid(trail):
    bob = trail["bob"]
    uuid = str(bob.uuid)
    bob.delete()
    assert seqs(run_report("--user", uuid)) == [2, 4, 6]
