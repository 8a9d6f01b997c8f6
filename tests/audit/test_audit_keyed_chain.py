"""The keyed chain: someone who can write to the database but does not hold the key file cannot
rewrite history, even knowing the hash formula.

The attacker alters an entry, recomputes every later hash and updates the chain head, with the
formula an earlier version of the trail documented (SHA-256 over the previous hash and the
canonical JSON of the entry), or with an HMAC under a key of their own.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from carethread.audit import keys
from carethread.audit.actions import record
from carethread.audit.chain import keyed_hash
from carethread.audit.models import AuditEvent
from carethread.audit.verify import Kind, verify_chain

from .conftest import write_key_file

pytestmark = pytest.mark.django_db

PLAIN_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "actor_role",
    "patient_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "source_address",
    "details",
)


def _payload(row: dict[str, Any], *extra: str) -> str:
    body = {name: row[name] for name in (*PLAIN_FIELDS, *extra)}
    body["occurred_at"] = row["occurred_at"].astimezone(dt.UTC).isoformat(timespec="microseconds")
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def plain_sha256(prev_hash: str, row: dict[str, Any]) -> str:
    """The unkeyed formula an attacker reads in the documentation."""
    return hashlib.sha256((prev_hash + "\n" + _payload(row)).encode("ascii")).hexdigest()


def hmac_with(key: bytes) -> Callable[[str, dict[str, Any]], str]:
    """The keyed formula, under a key the attacker made up."""

    def digest(prev_hash: str, row: dict[str, Any]) -> str:
        message = "carethread:audit:v2\n" + prev_hash + "\n" + _payload(row, "key_id")
        return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()

    return digest


def rewrite_from(
    tamper,
    seq: int,
    *,
    formula: Callable[[str, dict[str, Any]], str] = plain_sha256,
    downgrade: bool = False,
    **changes: object,
) -> None:
    """Change entry ``seq``, recompute every later hash with ``formula``, move the head.
    ``downgrade``: also mark the rewritten entries as unkeyed (empty key id)."""
    rows = list(AuditEvent.objects.filter(seq__gte=seq).order_by("seq").values())
    prev = rows[0]["prev_hash"]
    with tamper.triggers_off():
        for row in rows:
            if row["seq"] == seq:
                row.update(changes)
            if downgrade:
                row["key_id"] = ""
            digest = formula(prev, row)
            tamper.raw(
                "UPDATE audit_auditevent SET prev_hash = %s, hash = %s, outcome = %s, "
                "action = %s, key_id = %s WHERE seq = %s",
                (prev, digest, row["outcome"], row["action"], row["key_id"], row["seq"]),
            )
            prev = digest
        tamper.raw(
            "UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s WHERE id = 1",
            (rows[-1]["seq"], prev),
        )


def test_outcome_altered_and_later_hashes_recomputed_is_broken(make_entries, tamper):
    make_entries(6)
    rewrite_from(tamper, 3, outcome="failure")
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (3, Kind.CHANGED)
    assert result.entries == 2


def test_the_attack_through_the_command_exits_1(make_entries, tamper, cli, capsys):
    make_entries(6)
    rewrite_from(tamper, 3, outcome="failure")
    assert cli(["audit", "verify"]) == 1
    assert "audit trail BROKEN at seq 3: changed" in capsys.readouterr().err


def test_the_attack_with_an_hmac_under_a_key_of_their_own_is_broken(make_entries, tamper):
    make_entries(6)
    rewrite_from(tamper, 3, formula=hmac_with(secrets.token_bytes(32)), outcome="failure")
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (3, Kind.CHANGED)


def test_relabelling_the_rewritten_entries_as_legacy_is_broken(make_entries, tamper):
    """Unkeyed entries are accepted only before the first keyed one."""
    make_entries(6)
    rewrite_from(tamper, 3, downgrade=True, outcome="failure")
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (3, Kind.UNKEYED)


def test_relabelling_the_whole_trail_as_legacy_is_broken(make_entries, tamper):
    """No keyed entry at all: nothing seals the trail, so it cannot be taken as intact."""
    make_entries(6)
    rewrite_from(tamper, 1, downgrade=True, outcome="failure")
    result = verify_chain()
    assert result.problem is not None and result.problem.kind == Kind.UNKEYED
    assert result.problem.seq == 6


def test_relabelling_an_entry_with_another_key_id_is_broken(key_file, make_entries, tamper):
    make_entries(4)
    with tamper.triggers_off():
        tamper.raw("UPDATE audit_auditevent SET key_id = 'kek-other' WHERE seq = 2")
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (2, Kind.UNKNOWN_KEY)


def test_a_key_holder_rewrite_is_caught_by_an_earlier_checkpoint(make_entries, tamper, cli):
    """With the key file too, a rewrite of entries already pinned outside the database shows."""
    make_entries(6)
    assert cli(["audit", "verify", "--no-record"]) == 0  # checkpoint at seq 6
    make_entries(2)
    key = keys.by_id(AuditEvent.objects.get(seq=3).key_id)
    assert key is not None
    rewrite_from(tamper, 3, formula=lambda prev, row: keyed_hash(key, prev, row), outcome="failure")
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (6, Kind.CHECKPOINT_MISMATCH)


def test_entries_name_the_key_they_are_sealed_under(key_file, make_entries):
    make_entries(2)
    assert set(AuditEvent.objects.values_list("key_id", flat=True)) == {"kek-audit01"}


# Rotation -----------------------------------------------------------------------------------


def _keys_of(path) -> dict[str, bytes]:
    raw = json.loads(path.read_text())
    return {k: base64.b64decode(v) for k, v in raw["keys"].items()}


def test_key_rotation_keeps_old_entries_verifiable(key_file, make_entries, cli, capsys):
    make_entries(3)
    old = _keys_of(key_file)
    write_key_file(key_file, "kek-audit02", {**old, "kek-audit02": secrets.token_bytes(32)})
    make_entries(2)
    assert list(AuditEvent.objects.values_list("key_id", flat=True)) == [
        "kek-audit01",
        "kek-audit01",
        "kek-audit01",
        "kek-audit02",
        "kek-audit02",
    ]
    result = verify_chain()
    assert result.ok and result.entries == 5
    assert cli(["audit", "verify"]) == 0
    assert "audit trail intact: 5 entries" in capsys.readouterr().out
    # The checkpoint written by that run is sealed under the new key.
    line = json.loads((key_file.parent / "audit-checkpoints.jsonl").read_text().splitlines()[-1])
    assert line["key_id"] == "kek-audit02"


def test_removing_a_key_that_still_seals_entries_is_reported(key_file, make_entries, cli, capsys):
    make_entries(2)
    new = secrets.token_bytes(32)
    write_key_file(key_file, "kek-audit02", {**_keys_of(key_file), "kek-audit02": new})
    make_entries(1)
    write_key_file(key_file, "kek-audit02", {"kek-audit02": new})
    result = verify_chain()
    assert result.problem is not None
    assert (result.problem.seq, result.problem.kind) == (1, Kind.UNKNOWN_KEY)
    assert cli(["audit", "verify", "--no-record"]) == 1
    err = capsys.readouterr().err
    assert "seq 1: unknown key" in err and "kek-audit01" in err


def test_an_unreadable_key_file_exits_2(key_file, make_entries, cli, capsys):
    make_entries(1)
    key_file.write_text("not json")
    assert cli(["audit", "verify"]) == 2
    assert str(key_file) in capsys.readouterr().err


def test_record_fails_closed_without_the_key_file(key_file):
    from carethread.keyfile import KeyRingError

    key_file.unlink()
    with pytest.raises(KeyRingError):
        record("test.event")
    assert not AuditEvent.objects.exists()
