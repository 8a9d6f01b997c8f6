"""Real ``carethread worker`` processes, killed with SIGKILL in the middle of deliveries and
restarted, against a real SMTP server that stalls: no recipient gets a mail twice, and what was
not yet handed over is delivered after the restart.

The workers run with a 3-second lease (``worker_settings``) on PostgreSQL when the suite does
(the test database, committed to for real), else on their own SQLite file migrated by
``carethread migrate``; the test reads their database directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

TESTS_DIR = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


class Row(NamedTuple):
    state: str
    handed: bool
    error: str
    attempts: int


class WorkerDb:
    """Read-only look at the workers' database; ``connect`` opens a DB-API connection."""

    def __init__(self, url: str, connect: Callable[[], Any]) -> None:
        self.url = url
        self.connect = connect

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        with contextlib.closing(self.connect()) as conn:
            cursor = conn.cursor()
            cursor.execute(sql)
            rows = cursor.fetchall()
            conn.rollback()
            return rows

    def rows(self) -> dict[int, Row]:
        found = self._query(
            "SELECT id, state, handed_at IS NOT NULL, last_error_code, attempts "
            "FROM notifications_notification"
        )
        return {nid: Row(state, bool(handed), error, n) for nid, state, handed, error, n in found}

    def task_states(self) -> list[str]:
        return [s for (s,) in self._query("SELECT status FROM django_tasks_database_dbtaskresult")]


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker_db(request, tmp_path):
    from django.conf import settings

    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        request.getfixturevalue("transactional_db")
        import psycopg

        db = settings.DATABASES["default"]
        url = "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(**db)
        return WorkerDb(url, lambda: psycopg.connect(url))
    path = tmp_path / "workers.sqlite3"
    return WorkerDb(f"sqlite:///{path}", lambda: sqlite3.connect(path, timeout=10))


@pytest.fixture
def worker_env(tmp_path, stalling_smtp, worker_db):
    env = {
        **os.environ,
        "CARETHREAD_VAR_DIR": str(tmp_path),
        "DATABASE_URL": worker_db.url,
        "DJANGO_SETTINGS_MODULE": "worker_settings",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(TESTS_DIR), str(HERE), os.environ.get("PYTHONPATH", "")) if p
        ),
        "CARETHREAD_SMTP_URL": f"smtp://127.0.0.1:{stalling_smtp.port}",
        "CARETHREAD_LOG_LEVEL": "INFO",
    }
    subprocess.run(
        [sys.executable, "-m", "carethread", "migrate", "--verbosity", "0"],
        env=env,
        check=True,
        timeout=180,
    )
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "carethread", "worker", "--interval", "0.2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_killed_workers_never_send_twice_and_finish_what_was_not_handed_over(
    tmp_path, stalling_smtp, worker_env, worker_db
):
    setup = subprocess.run(
        [sys.executable, str(HERE / "worker_world.py")],
        env=worker_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert setup.returncode == 0, setup.stderr
    recipients = {int(k): v for k, v in json.loads(setup.stdout.splitlines()[-1]).items()}
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

    # 2. A second worker claims the other notification and is killed before the server has
    #    even answered its greeting: nothing was handed over.
    stalling_smtp.mode = "stall_ehlo"
    second = start_worker(worker_env, tmp_path / "worker2.log")
    try:
        assert stalling_smtp.ehlo_stalled.wait(90), (tmp_path / "worker2.log").read_text()
        rows = db.rows()
    finally:
        kill(second)
    assert rows[other].state == "sending" and not rows[other].handed

    # 3. Restarted: once the dead workers' leases have run out, the claim that never reached
    #    the hand-over is delivered; the handed-over one is settled as "outcome unknown" and
    #    never sent again. SIGTERM then stops the worker cleanly.
    stalling_smtp.mode = "normal"
    stalling_smtp.release()
    log = tmp_path / "worker3.log"
    third = start_worker(worker_env, log)
    try:
        wait_for(
            lambda: db.rows()[other].state == "sent" and db.rows()[handed].state == "failed",
            90,
            "the restarted worker to settle both notifications",
        )
        # The dead workers' task results do not stay "running" for ever.
        wait_for(lambda: "RUNNING" not in db.task_states(), 60, "abandoned tasks to be settled")
    finally:
        third.send_signal(signal.SIGTERM)
        assert third.wait(timeout=30) == 0, log.read_text()
    assert "worker stopped" in log.read_text()

    rows = db.rows()
    assert rows[other] == Row("sent", True, "", 2)
    assert rows[handed].state == "failed" and rows[handed].error == "outcome_unknown"
    assert stalling_smtp.count_for(recipients[handed]) == 1  # kept by the server once, no more
    assert stalling_smtp.count_for(recipients[other]) == 1  # delivered after the restart
    assert len(stalling_smtp.received) == 2
    assert "READY" not in db.task_states()
    # The workers' output names no one.
    output = "".join((tmp_path / f"worker{n}.log").read_text() for n in (1, 2, 3))
    for phi in ("Lopez", "maria@example.com", "jane@example.com", "Your results"):
        assert phi not in output
