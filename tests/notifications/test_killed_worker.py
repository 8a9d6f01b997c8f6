"""Real ``carethread worker`` processes, killed with SIGKILL in the middle of deliveries and
restarted, against a real SMTP server that stalls: no notification is lost; a hand-over whose
outcome is unknown is sent again with the same Message-ID and counted; what was not yet handed
over is delivered once.

The workers run with a 3-second lease (``worker_settings``) on PostgreSQL when the suite does
(the test database, committed to for real), else on their own SQLite file migrated by
``carethread migrate``; the test reads their database directly. The machinery is
``kill_run.py``; ``bench/notification_kills.py`` runs it with many more kills.
"""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from .kill_run import (
    Row,
    WorkerDb,
    check,
    drain,
    kill,
    kill_many,
    make_world,
    start_worker,
)
from .kill_run import worker_env as migrated_env

PHI = ("Lopez", "maria@example.com", "jane@example.com", "Your results")
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
# On PostgreSQL the workers use the test database: committed for real, emptied after each test.
pytestmark = [pytest.mark.django_db(transaction=True)] if ON_POSTGRES else []


@pytest.fixture
def worker_db(tmp_path):
    from django.conf import settings

    if ON_POSTGRES:
        import psycopg

        db = settings.DATABASES["default"]
        url = "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(**db)
        return WorkerDb(url, lambda: psycopg.connect(url))
    path = tmp_path / "workers.sqlite3"
    return WorkerDb(f"sqlite:///{path}", lambda: sqlite3.connect(path, timeout=10))


@pytest.fixture
def worker_env(tmp_path, stalling_smtp, worker_db):
    return migrated_env(tmp_path, worker_db.url, stalling_smtp.port)


def test_killed_workers_lose_nothing_and_resend_only_what_had_an_unknown_outcome(
    tmp_path, stalling_smtp, worker_env, worker_db
):
    recipients = make_world(worker_env)
    assert sorted(recipients.values()) == ["jane@example.com", "maria@example.com"]
    db = worker_db
    assert db.task_states() == ["READY"]  # one queued task for the message's recipients

    # 1. A worker hands a message over; the server keeps it but holds back its "250" reply,
    #    and the worker is killed while waiting for it.
    stalling_smtp.mode = "stall_data"
    first = start_worker(worker_env, tmp_path / "worker1.log")
    try:
        assert stalling_smtp.data_stalled.wait(90), (tmp_path / "worker1.log").read_text()
        rows = db.rows()
    finally:
        kill(first)
    [handed] = [nid for nid, row in rows.items() if row.state == "sending" and row.handed]
    [other] = [nid for nid in recipients if nid != handed]
    assert rows[other].state == "pending"
    message_id = rows[handed].message_id
    assert message_id.startswith("<notification-")  # stored before the hand-over

    # 2. A second worker claims a notification — the other one, or the handed-over one, which
    #    the sweep put back once the first worker's lease ran out — and is killed before the
    #    server has even answered its greeting: nothing was handed over this time.
    stalling_smtp.mode = "stall_ehlo"
    second = start_worker(worker_env, tmp_path / "worker2.log")
    try:
        assert stalling_smtp.ehlo_stalled.wait(90), (tmp_path / "worker2.log").read_text()
        rows = db.rows()
    finally:
        kill(second)
    [claimed] = [nid for nid, row in rows.items() if row.state == "sending" and not row.handed]
    if claimed == handed:  # swept after its hand-over: counted as a retry
        assert (rows[handed].retries, rows[other].state) == (1, "pending")

    # 3. Restarted: once the dead workers' leases have run out, the claim that never reached
    #    the hand-over is delivered once; the handed-over one, whose outcome is unknown, is sent
    #    again with the same Message-ID and its retry counted. SIGTERM stops the worker cleanly.
    stalling_smtp.mode = "normal"
    stalling_smtp.release()
    log = tmp_path / "worker3.log"
    drain(worker_env, db, stalling_smtp, log)
    assert "worker stopped" in log.read_text()

    rows = db.rows()
    extra = {nid: int(nid == claimed) for nid in recipients}  # the claim killed at EHLO
    assert rows[other] == Row("sent", True, "", 1 + extra[other], rows[other].message_id, 0)
    assert rows[handed] == Row("sent", True, "", 2 + extra[handed], message_id, 1)
    assert stalling_smtp.count_for(recipients[handed]) == 2  # the first did arrive...
    assert [mid for mid, _ in stalling_smtp.message_ids()].count(message_id) == 2  # ...same id
    assert stalling_smtp.count_for(recipients[other]) == 1  # delivered after the restart
    assert len(stalling_smtp.received) == 3
    assert "READY" not in db.task_states()
    # The workers' output names no one.
    output = "".join((tmp_path / f"worker{n}.log").read_text() for n in (1, 2, 3))
    for phi in PHI:
        assert phi not in output


KILLS = int(os.environ.get("CARETHREAD_TEST_KILLS", "20"))


def test_many_kills_at_random_moments_lose_no_notification(
    tmp_path, stalling_smtp, worker_env, worker_db
):
    """SIGKILL a worker 20 times at random moments (a third of them between the end of DATA
    and the server's reply): every notification ends sent (or skipped by a re-check), every
    duplicate carries its notification's Message-ID and is counted as a retry."""
    began = time.monotonic()
    recipients = make_world(worker_env, messages=40)
    assert len(recipients) == 80
    kills = kill_many(worker_env, worker_db, stalling_smtp, KILLS, log_dir=tmp_path, seed=9)
    assert kills.total >= KILLS, kills.styles  # the work did not run out first
    assert kills.styles["after_data"] >= 3, kills.styles
    drained = drain(worker_env, worker_db, stalling_smtp, tmp_path / "last.log")

    outcome = check(worker_db.rows(), recipients, stalling_smtp)
    print(dict(kills.styles), outcome.summary())
    took = time.monotonic() - began
    print(f"kills {kills.seconds:.0f} s, drain {drained:.0f} s, all {took:.0f} s")
    assert outcome.lost == []
    assert outcome.over_counted == []
    assert outcome.strangers == []
    # Every kill after DATA left a hand-over with an unknown outcome: each was retried.
    assert outcome.retries >= kills.styles["after_data"]
    assert outcome.duplicates >= 1
    output = "".join(log.read_text() for log in [*kills.logs, tmp_path / "last.log"])
    for phi in PHI:
        assert phi not in output
