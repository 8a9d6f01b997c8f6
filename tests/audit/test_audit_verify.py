"""verify_chain / `carethread audit verify`: intact trails pass, every kind of tampering is named.

The tampering is done as a DBA would: triggers disabled (PostgreSQL) or dropped (SQLite), then
raw SQL. Forged rows are sealed with the key, as by someone who also holds the key file, so that
the kind of each change is what is tested (without the key, see test_audit_keyed_chain).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection

from carethread.audit import keys
from carethread.audit.chain import entry_hash
from carethread.audit.models import AuditChainHead, AuditEvent
from carethread.audit.verify import Kind, verify_chain

pytestmark = pytest.mark.django_db

COLUMNS = (
    "seq, occurred_at, actor_id, actor_label, actor_role, patient_id, action, object_type, "
    "object_id, outcome, source_address, details, key_id, prev_hash, hash"
)


def forge(tamper, seq: int, prev_hash: str, **overrides: object) -> str:
    """Insert a row with a correctly computed hash, as someone who holds the key would."""
    key_id, key = keys.current()
    fields: dict[str, object] = {
        "seq": seq,
        "occurred_at": dt.datetime.now(dt.UTC).replace(microsecond=123456),
        "actor_id": None,
        "actor_label": "system",
        "actor_role": "system",
        "patient_id": None,
        "action": "test.forged",
        "object_type": "",
        "object_id": "",
        "outcome": "success",
        "source_address": "",
        "details": {},
        "key_id": key_id,
        **overrides,
    }
    digest = entry_hash(prev_hash, fields, key)
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    values = [*fields.values()]
    values[11] = json.dumps(fields["details"])
    tamper.raw(
        f"INSERT INTO audit_auditevent ({COLUMNS}) "  # noqa: S608 - fixed test SQL
        f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {cast}, %s, %s, %s)",
        (*values, prev_hash, digest),
    )
    return digest


def hash_of(seq: int) -> str:
    return AuditEvent.objects.values_list("hash", flat=True).get(seq=seq)


def problem_after(tamper, sql_statements: list[str]):
    with tamper.triggers_off():
        for sql in sql_statements:
            tamper.raw(sql)
    result = verify_chain(chunk_size=2)  # small chunks: the walk crosses chunk borders
    assert not result.ok
    return result.problem


def test_intact_trail_passes(make_entries):
    make_entries(7)
    result = verify_chain(chunk_size=3)
    assert result.ok
    assert (result.entries, result.last_seq) == (7, 7)
    assert result.last_hash == AuditChainHead.objects.get().last_hash


def test_empty_trail_passes():
    result = verify_chain()
    assert result.ok and result.entries == 0


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'auth.logout' WHERE seq = 3",
        "UPDATE audit_auditevent SET actor_label = 'someone-else' WHERE seq = 3",
        "UPDATE audit_auditevent SET outcome = 'failure' WHERE seq = 3",
        "UPDATE audit_auditevent SET patient_id = 7 WHERE seq = 3",
        "UPDATE audit_auditevent SET source_address = '10.0.0.1' WHERE seq = 3",
    ],
)
def test_changed_entry(make_entries, tamper, sql):
    make_entries(5)
    problem = problem_after(tamper, [sql])
    assert (problem.seq, problem.kind) == (3, Kind.CHANGED)


def test_changed_timestamp_and_details(make_entries, tamper):
    make_entries(5)
    event = AuditEvent.objects.get(seq=2)
    earlier = event.occurred_at - dt.timedelta(hours=1)
    with tamper.triggers_off():
        tamper.raw("UPDATE audit_auditevent SET occurred_at = %s WHERE seq = 2", (earlier,))
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (2, Kind.CHANGED)


def test_changed_entry_with_recomputed_hash(make_entries, tamper):
    make_entries(5)
    event = AuditEvent.objects.get(seq=3)
    fields = {name: getattr(event, name) for name in (*_hashed(), "key_id")}
    fields["action"] = "auth.logout"
    new_hash = entry_hash(event.prev_hash, fields, keys.by_id(event.key_id))
    problem = problem_after(
        tamper,
        [
            f"UPDATE audit_auditevent SET action = 'auth.logout', hash = '{new_hash}' "  # noqa: S608
            "WHERE seq = 3"
        ],
    )
    assert (problem.seq, problem.kind) == (3, Kind.CHANGED)


def _hashed():
    from carethread.audit.chain import HASHED_FIELDS

    return HASHED_FIELDS


def test_deleted_entry_in_the_middle(make_entries, tamper):
    make_entries(6)
    problem = problem_after(tamper, ["DELETE FROM audit_auditevent WHERE seq = 3"])
    assert (problem.seq, problem.kind) == (4, Kind.MISSING)
    assert "seq 3" in problem.detail


def test_deleted_entries_in_the_middle(make_entries, tamper):
    make_entries(6)
    problem = problem_after(tamper, ["DELETE FROM audit_auditevent WHERE seq IN (2, 3, 4)"])
    assert (problem.seq, problem.kind) == (5, Kind.MISSING)
    assert "seq 2 to 4" in problem.detail


def test_deleted_first_entry(make_entries, tamper):
    make_entries(3)
    problem = problem_after(tamper, ["DELETE FROM audit_auditevent WHERE seq = 1"])
    assert (problem.seq, problem.kind) == (2, Kind.MISSING)


@pytest.mark.parametrize("deleted", [1, 2, 5])
def test_deleted_tail(make_entries, tamper, deleted):
    make_entries(5)
    problem = problem_after(
        tamper,
        [f"DELETE FROM audit_auditevent WHERE seq > {5 - deleted}"],  # noqa: S608
    )
    assert (problem.seq, problem.kind) == (5 - deleted + 1, Kind.HEAD_MISMATCH)
    assert "deleted from the end" in problem.detail


def test_deleted_tail_with_the_head_moved_back(make_entries, tamper):
    """The DBA also rewinds the head: the deleted entries go unnoticed only if the head points to
    a genuine entry — it must also be the one the head recorded."""
    make_entries(5)
    problem = problem_after(
        tamper,
        [
            "DELETE FROM audit_auditevent WHERE seq > 3",
            "UPDATE audit_auditchainhead SET last_seq = 3",
        ],
    )
    assert (problem.seq, problem.kind) == (3, Kind.HEAD_MISMATCH)


def test_inserted_entry_after_the_end(make_entries, tamper):
    make_entries(5)
    with tamper.triggers_off():
        forge(tamper, 6, hash_of(5))
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (6, Kind.INSERTED)
    assert "beyond the chain head" in problem.detail


def test_inserted_entry_in_the_middle(make_entries, tamper):
    """Later entries renumbered to make room, forged row linked correctly to its predecessor."""
    make_entries(5)
    with tamper.triggers_off():
        for seq in (5, 4, 3):
            tamper.raw(
                "UPDATE audit_auditevent SET seq = %s WHERE seq = %s",
                (seq + 1, seq),
            )
        forge(tamper, 3, hash_of(2))
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (3, Kind.INSERTED)


def test_inserted_entry_replacing_one_with_a_plausible_hash(make_entries, tamper):
    make_entries(5)
    with tamper.triggers_off():
        tamper.raw("DELETE FROM audit_auditevent WHERE seq = 3")
        forge(tamper, 3, hash_of(2), action="auth.login")
    problem = verify_chain().problem
    assert problem is not None and problem.seq == 3
    assert problem.kind in (Kind.CHANGED, Kind.INSERTED)


def test_inserted_entry_before_the_first(make_entries, tamper):
    make_entries(3)
    with tamper.triggers_off():
        forge(tamper, 0, "0" * 64)
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (0, Kind.INSERTED)


@pytest.mark.parametrize(("a", "b"), [(2, 4), (2, 3), (1, 5), (3, 6)])
def test_reordered_entries(make_entries, tamper, a, b):
    make_entries(6)
    problem = problem_after(
        tamper,
        [
            f"UPDATE audit_auditevent SET seq = -1 WHERE seq = {a}",  # noqa: S608
            f"UPDATE audit_auditevent SET seq = {a} WHERE seq = {b}",  # noqa: S608
            f"UPDATE audit_auditevent SET seq = {b} WHERE seq = -1",  # noqa: S608
        ],
    )
    assert (problem.seq, problem.kind) == (a, Kind.OUT_OF_ORDER)
    assert f"written as seq {b}" in problem.detail


# The command --------------------------------------------------------------------------------


def test_command_prints_intact_and_records_the_verification_afterwards(make_entries, capsys, cli):
    make_entries(4)
    assert cli(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "audit trail intact: 4 entries" in out
    last = AuditEvent.objects.order_by("-seq").first()
    assert last is not None
    assert (last.seq, last.action, last.outcome) == (5, "audit.verify", "success")
    assert last.details == {"entries": 4}
    assert last.actor_role == "operator" and last.actor_label.startswith("cli:")
    # recording it did not break the chain it just verified
    assert cli(["audit", "verify", "--no-record"]) == 0
    assert "audit trail intact: 5 entries" in capsys.readouterr().out
    assert AuditEvent.objects.count() == 5


def test_command_exits_1_naming_the_first_broken_entry(make_entries, tamper, capsys, cli):
    make_entries(5)
    with tamper.triggers_off():
        tamper.raw("UPDATE audit_auditevent SET action = 'auth.logout' WHERE seq = 2")
        tamper.raw("DELETE FROM audit_auditevent WHERE seq = 4")
    assert cli(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "seq 2: changed" in err
    failure = AuditEvent.objects.order_by("-seq").first()
    assert failure is not None and failure.action == "audit.verify"
    assert failure.outcome == "failure"
    assert failure.details == {"entries": 1, "problem": "changed", "seq": 2}
    # the recorded failure does not hide the damage
    assert cli(["audit", "verify", "--no-record"]) == 1
    assert "seq 2: changed" in capsys.readouterr().err


def test_command_still_exits_1_when_the_failure_cannot_be_recorded(
    make_entries, tamper, capsys, cli
):
    make_entries(3)
    with tamper.triggers_off():
        forge(tamper, 4, hash_of(3))  # takes the seq the next genuine entry would get
    assert cli(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "seq 4: inserted" in err
    assert "could not be recorded" in err
