"""Concurrent writers, each in its own transaction, still produce one gap-free chain."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from carethread.audit.actions import record
from carethread.audit.models import AuditChainHead, AuditEvent
from carethread.audit.verify import verify_chain

THREADS = 8
TRANSACTIONS = 25
PER_TRANSACTION = 2


def _writer(worker: int, start: threading.Barrier, errors: list[BaseException]) -> None:
    try:
        start.wait()
        for i in range(TRANSACTIONS):
            with transaction.atomic():
                for j in range(PER_TRANSACTION):
                    record("test.concurrent", details={"worker": worker, "i": i, "j": j})
    except BaseException as exc:  # reported by the test
        errors.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_make_one_chain():
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "the SQLite test database is in memory with a shared cache, where a second writer "
            "gets 'database table is locked' at once instead of waiting; on a file database "
            "BEGIN IMMEDIATE (transaction_mode) serialises writers"
        )
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    workers = [threading.Thread(target=_writer, args=(n, start, errors)) for n in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    total = THREADS * TRANSACTIONS * PER_TRANSACTION
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, total + 1))
    result = verify_chain()
    assert result.ok, result.problem
    assert result.entries == total
    assert AuditChainHead.objects.get().last_seq == total
    # every transaction's entries are consecutive: the head lock is held to the commit
    rows = list(AuditEvent.objects.values_list("details", flat=True))
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        assert (first["worker"], first["i"], first["j"]) == (second["worker"], second["i"], 0)
        assert second["j"] == 1


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_trail_and_a_new_chain_starts():
    """TransactionTestCase flushes between tests: the triggers must not block it (SQLite)."""
    from django.core.management import call_command

    record("test.event")
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    assert not AuditChainHead.objects.exists()
    assert record("test.event").seq == 1
    assert verify_chain().ok
    # and the triggers are back
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")


WRITER_SCRIPT = """
import sys, django
django.setup()
from django.db import transaction
from carethread.audit.actions import record
worker = int(sys.argv[1])
for i in range(int(sys.argv[2])):
    with transaction.atomic():
        record("test.concurrent", details={"worker": worker, "i": i})
        record("test.concurrent", details={"worker": worker, "i": i})
"""


def test_concurrent_processes_on_a_sqlite_file(tmp_path):
    """Separate processes on one SQLite file (how the server and worker run): one chain."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        "CARETHREAD_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "carethread.settings",
    }

    def carethread(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "carethread", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert carethread("migrate", "audit", "--verbosity", "0").returncode == 0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, str(n), "40"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    result = carethread("audit", "verify", "--no-record")
    assert result.returncode == 0, result.stderr
    assert "audit trail intact: 320 entries" in result.stdout
