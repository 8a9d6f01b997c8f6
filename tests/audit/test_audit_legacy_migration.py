"""Migration 0003 keys an existing trail without losing what it proves: the legacy entries stay
verifiable under their unkeyed SHA-256 formula, a first keyed entry seals them, a checkpoint pins
them outside the database, and the append-only triggers survive the column change."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from carethread.audit import codes
from carethread.audit.actions import record
from carethread.audit.chain import GENESIS_HASH, legacy_hash
from carethread.audit.legacy import seal_legacy
from carethread.audit.models import AuditChainHead, AuditEvent
from carethread.audit.verify import Kind, verify_chain

LEGACY_COLUMNS = (
    "seq, occurred_at, actor_id, actor_label, actor_role, patient_id, action, object_type, "
    "object_id, outcome, source_address, details, prev_hash, hash"
)


def write_legacy_trail(count: int, *, with_key_column: bool) -> list[str]:
    """Entries as the unkeyed version wrote them; returns their hashes."""
    prev, hashes = GENESIS_HASH, []
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    columns = LEGACY_COLUMNS + (", key_id" if with_key_column else "")
    extra = ", ''" if with_key_column else ""
    with connection.cursor() as cursor:
        for seq in range(1, count + 1):
            fields = {
                "seq": seq,
                "occurred_at": dt.datetime(2025, 5, 1, 9, seq, 0, 250000, tzinfo=dt.UTC),
                "actor_id": seq,
                "actor_label": "9a1f5a52-3c5e-4d4e-8f8a-0c1d2e3f4a5b",
                "actor_role": "practice",
                "patient_id": 40 + seq,
                "action": "message.view",
                "object_type": "messaging.message",
                "object_id": f"{seq:032x}",
                "outcome": "success",
                "source_address": "198.51.100.7",
                "details": {"n": seq},
            }
            digest = legacy_hash(prev, fields)
            values = [*fields.values()]
            values[11] = json.dumps(fields["details"])
            cursor.execute(
                f"INSERT INTO audit_auditevent ({columns}) "  # noqa: S608 - fixed test SQL
                f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {cast}, %s, %s{extra})",
                (*values, prev, digest),
            )
            prev = digest
            hashes.append(digest)
        cursor.execute("SELECT COUNT(*) FROM audit_auditchainhead")
        if cursor.fetchone()[0]:
            cursor.execute(
                "UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s WHERE id = 1",
                (count, prev),
            )
        else:  # a flushed database has no head row yet
            cursor.execute(
                "INSERT INTO audit_auditchainhead (id, last_seq, last_hash) VALUES (1, %s, %s)",
                (count, prev),
            )
    return hashes


def migrate_to(target: str) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("audit", target)])


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_a_legacy_trail(tmp_path):
    migrate_to("0002_append_only")
    try:
        hashes = write_legacy_trail(5, with_key_column=False)
        migrate_to("0003_keyed_chain")
    finally:
        migrate_to("0003_keyed_chain")
    seal = AuditEvent.objects.get(seq=6)
    assert (seal.action, seal.details, seal.prev_hash) == (
        codes.AUDIT_CHAIN_KEYED,
        {"legacy_entries": 5},
        hashes[-1],
    )
    assert seal.key_id and not AuditEvent.objects.filter(seq__lte=5).exclude(key_id="").exists()
    result = verify_chain()
    assert result.ok and (result.entries, result.legacy, result.checkpoints) == (6, 5, 1)
    [line] = [
        json.loads(x) for x in (tmp_path / "audit-checkpoints.jsonl").read_text().splitlines()
    ]
    assert (line["seq"], line["hash"], line["reason"]) == (6, seal.hash, "migration")
    # The triggers are back after the column change.
    for sql in ("UPDATE audit_auditevent SET outcome = 'failure'", "DELETE FROM audit_auditevent"):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    # New entries are keyed and continue the chain.
    event = record("test.event")
    assert (event.seq, event.prev_hash, event.key_id) == (7, seal.hash, seal.key_id)
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_the_migration_of_an_empty_trail_adds_nothing(tmp_path):
    migrate_to("0002_append_only")
    migrate_to("0003_keyed_chain")
    assert not AuditEvent.objects.exists()
    assert not (tmp_path / "audit-checkpoints.jsonl").exists()


@pytest.mark.django_db
def test_sealing_twice_adds_one_entry(django_capture_on_commit_callbacks):
    write_legacy_trail(3, with_key_column=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert seal_legacy(AuditEvent, AuditChainHead, "default") == 4
    assert seal_legacy(AuditEvent, AuditChainHead, "default") is None
    assert AuditEvent.objects.count() == 4


@pytest.mark.django_db
def test_a_rewritten_legacy_part_no_longer_links_to_the_seal(tamper):
    """Whoever rewrites legacy entries with their own formula breaks the link of the keyed
    entry that seals them."""
    write_legacy_trail(5, with_key_column=True)
    seal_legacy(AuditEvent, AuditChainHead, "default")
    rows = list(AuditEvent.objects.filter(seq__gte=3, seq__lte=5).order_by("seq").values())
    prev = rows[0]["prev_hash"]
    with tamper.triggers_off():
        for row in rows:
            if row["seq"] == 3:
                row["outcome"] = "failure"
            digest = legacy_hash(prev, row)
            tamper.raw(
                "UPDATE audit_auditevent SET outcome = %s, prev_hash = %s, hash = %s "
                "WHERE seq = %s",
                (row["outcome"], prev, digest, row["seq"]),
            )
            prev = digest
    problem = verify_chain().problem
    assert problem is not None and (problem.seq, problem.kind) == (5, Kind.CHANGED)
    assert "seq 6 no longer links to it" in problem.detail


@pytest.mark.django_db
def test_a_legacy_trail_before_its_seal_is_not_taken_as_intact():
    write_legacy_trail(3, with_key_column=True)
    result = verify_chain()
    assert result.problem is not None and result.problem.kind == Kind.UNKEYED
