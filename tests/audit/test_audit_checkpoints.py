"""Checkpoints of the chain head outside the database: written by `audit verify` and daily by the
worker, checked by `audit verify`, so a truncated, emptied or rebuilt trail is caught."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.db import connection

from carethread.audit import checkpoints
from carethread.audit.models import AuditChainHead, AuditEvent
from carethread.audit.verify import Kind, verify_chain

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_schedule():
    checkpoints.reset_schedule()
    yield
    checkpoints.reset_schedule()


def lines(path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def empty_the_trail(tamper) -> None:
    """What a DBA does: TRUNCATE on PostgreSQL (row triggers never see it); on SQLite, drop the
    triggers and delete every row. The head goes too, so only a checkpoint can tell."""
    if connection.vendor == "postgresql":
        tamper.raw("TRUNCATE audit_auditevent, audit_auditchainhead")
    else:
        with tamper.triggers_off():
            tamper.raw("DELETE FROM audit_auditevent")
            tamper.raw("DELETE FROM audit_auditchainhead")


def test_verify_writes_a_checkpoint_of_the_head_to_the_file(make_entries, cli, capsys, tmp_path):
    make_entries(3)
    assert cli(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    [line] = lines(tmp_path / "audit-checkpoints.jsonl")
    head = AuditChainHead.objects.get()
    # the audit.verify event (seq 4) is the head it pins
    assert (line["seq"], line["hash"], line["reason"]) == (4, head.last_hash, "verify")
    assert set(line) == {"seq", "hash", "at", "reason", "key_id", "mac"}
    assert f"checkpoint: seq 4 written to {tmp_path / 'audit-checkpoints.jsonl'}" in out
    assert (tmp_path / "audit-checkpoints.jsonl").stat().st_mode & 0o077 == 0
    assert cli(["audit", "verify"]) == 0
    assert "checkpoints matched: 1" in capsys.readouterr().out
    assert len(lines(tmp_path / "audit-checkpoints.jsonl")) == 2


def test_a_checkpoint_is_also_a_log_line(make_entries, caplog, tmp_path):
    make_entries(1)
    with caplog.at_level(logging.INFO, logger="carethread.audit.checkpoints"):
        written = checkpoints.write(1, AuditChainHead.objects.get().last_hash, "verify")
    [line] = (tmp_path / "audit-checkpoints.jsonl").read_text().splitlines()
    assert caplog.records[-1].getMessage() == f"audit checkpoint {line}"
    assert written.line() == line


def test_the_checkpoint_file_can_be_put_elsewhere(make_entries, cli, settings, tmp_path):
    settings.CARETHREAD_AUDIT_CHECKPOINT_FILE = tmp_path / "elsewhere" / "pins.jsonl"
    make_entries(1)
    assert cli(["audit", "verify", "--no-record"]) == 0
    assert lines(tmp_path / "elsewhere" / "pins.jsonl")[0]["seq"] == 1


def test_an_emptied_trail_is_caught_by_the_checkpoint(make_entries, tamper, cli, capsys):
    make_entries(5)
    assert cli(["audit", "verify", "--no-record"]) == 0
    empty_the_trail(tamper)
    assert verify_chain(checkpoints=checkpoints.CheckpointFile(checkpoints.path(), [], [])).ok
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (1, Kind.TRUNCATED)
    assert cli(["audit", "verify", "--no-record"]) == 1
    err = capsys.readouterr().err
    assert (
        "truncated below checkpoint" in err and "records seq 5 but the trail ends at seq 0" in err
    )


def test_an_emptied_trail_that_starts_again_is_caught(make_entries, tamper, cli):
    """After the wipe the service writes a new chain from seq 1: the pinned seq now holds
    another entry."""
    make_entries(3)
    assert cli(["audit", "verify", "--no-record"]) == 0
    empty_the_trail(tamper)
    make_entries(6)
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (3, Kind.CHECKPOINT_MISMATCH)


def test_entries_deleted_from_the_end_with_the_head_moved_back(make_entries, tamper, cli):
    """The head rewound to a genuine entry: without a checkpoint it would look intact."""
    make_entries(5)
    assert cli(["audit", "verify", "--no-record"]) == 0
    with tamper.triggers_off():
        tamper.raw("DELETE FROM audit_auditevent WHERE seq > 3")
        hash3 = AuditEvent.objects.values_list("hash", flat=True).get(seq=3)
        tamper.raw(
            "UPDATE audit_auditchainhead SET last_seq = 3, last_hash = %s WHERE id = 1", (hash3,)
        )
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (4, Kind.TRUNCATED)


def test_an_edited_checkpoint_is_reported(make_entries, cli, tmp_path):
    make_entries(3)
    assert cli(["audit", "verify", "--no-record"]) == 0
    path = tmp_path / "audit-checkpoints.jsonl"
    [line] = lines(path)
    path.write_text(json.dumps({**line, "seq": 2}) + "\n")
    problem = verify_chain().problem
    assert problem is not None and problem.kind == Kind.BAD_CHECKPOINT
    assert "line 1" in problem.detail and "bad mac" in problem.detail
    path.write_text("{not json\n")
    problem = verify_chain().problem
    assert problem is not None and problem.kind == Kind.BAD_CHECKPOINT


def test_a_failed_verify_writes_no_checkpoint(make_entries, tamper, cli, tmp_path):
    make_entries(3)
    with tamper.triggers_off():
        tamper.raw("UPDATE audit_auditevent SET outcome = 'failure' WHERE seq = 2")
    assert cli(["audit", "verify"]) == 1
    assert not (tmp_path / "audit-checkpoints.jsonl").exists()


def test_an_unwritable_checkpoint_file_is_a_warning(make_entries, cli, capsys, monkeypatch):
    def refuse(target, line):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(checkpoints, "_append", refuse)
    make_entries(1)
    assert cli(["audit", "verify", "--no-record"]) == 0
    assert "warning: no checkpoint written" in capsys.readouterr().err


def test_an_unreadable_checkpoint_file_exits_2(make_entries, cli, capsys, settings, tmp_path):
    (tmp_path / "dir").mkdir()
    settings.CARETHREAD_AUDIT_CHECKPOINT_FILE = tmp_path / "dir"  # a folder, not a file
    make_entries(1)
    assert cli(["audit", "verify"]) == 2
    assert "cannot read checkpoint file" in capsys.readouterr().err


# The worker's daily checkpoint --------------------------------------------------------------


def test_daily_checkpoint_written_once_a_day(make_entries, tmp_path):
    make_entries(2)
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert checkpoints.daily(now) == {"audit_checkpoint": 1}
    [line] = lines(tmp_path / "audit-checkpoints.jsonl")
    assert (line["seq"], line["reason"]) == (2, "daily")
    make_entries(1)
    assert checkpoints.daily(now + dt.timedelta(hours=23)) == {}
    checkpoints.reset_schedule()  # another worker process: it reads the file
    assert checkpoints.daily(now + dt.timedelta(hours=23)) == {}
    assert checkpoints.daily(now + dt.timedelta(hours=24, seconds=1)) == {"audit_checkpoint": 1}
    assert [line["seq"] for line in lines(tmp_path / "audit-checkpoints.jsonl")] == [2, 3]
    assert verify_chain().ok


# The worker closes "old" connections between tasks (as a request would), so this test commits.
@pytest.mark.django_db(transaction=True)
def test_the_worker_round_writes_the_daily_checkpoint(make_entries, tmp_path):
    from carethread.notifications.worker import Runner

    make_entries(2)
    counts, _ = Runner(batch=None).round()
    assert "audit_checkpoint" not in counts  # logged, not in the worker's summary
    [line] = lines(tmp_path / "audit-checkpoints.jsonl")
    assert (line["seq"], line["reason"]) == (2, "daily")
    Runner(batch=None).round()
    assert len(lines(tmp_path / "audit-checkpoints.jsonl")) == 1


def test_daily_step_refuses_to_pin_an_emptied_trail(make_entries, tamper, tmp_path, caplog):
    make_entries(3)
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert checkpoints.daily(now) == {"audit_checkpoint": 1}
    empty_the_trail(tamper)
    later = now + dt.timedelta(days=2)
    with caplog.at_level(logging.ERROR, logger="carethread.audit.checkpoints"):
        assert checkpoints.daily(later) == {"audit_checkpoint_mismatch": 1}
    assert "no longer reaches seq 3" in caplog.text
    assert len(lines(tmp_path / "audit-checkpoints.jsonl")) == 1


def test_daily_step_refuses_to_pin_a_head_forged_without_the_key(make_entries, tamper, tmp_path):
    make_entries(3)
    with tamper.triggers_off():
        tamper.raw("UPDATE audit_auditevent SET outcome = 'failure' WHERE seq = 3")
        tamper.raw("UPDATE audit_auditevent SET hash = %s WHERE seq = 3", ("f" * 64,))
        tamper.raw("UPDATE audit_auditchainhead SET last_hash = %s WHERE id = 1", ("f" * 64,))
    assert checkpoints.daily() == {"audit_checkpoint_mismatch": 1}
    assert not (tmp_path / "audit-checkpoints.jsonl").exists()


def test_daily_step_survives_a_missing_key_file(make_entries, key_file, tmp_path, caplog):
    make_entries(1)
    key_file.unlink()
    with caplog.at_level(logging.ERROR, logger="carethread.audit.checkpoints"):
        assert checkpoints.daily() == {"audit_checkpoint_failed": 1}
    assert "could not be written" in caplog.text
