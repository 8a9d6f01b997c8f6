"""Real ``carethread worker`` processes killed with SIGKILL, and what their database and the SMTP
server say afterwards: used by ``test_killed_worker.py`` and ``bench/notification_kills.py``.

A run: build the practice world with some messages (``worker_world.py``, on the workers' own
migrated database), then start a worker and SIGKILL it, again and again, each time at a moment
chosen at random among:

* ``after_data`` — the server has the whole message but holds back its "250": the hand-over's
  outcome is unknown to the worker (the window of docs/notifications.md, "Never lost, sent
  once");
* ``mid_delivery`` — at a random instant (0-0.5 s) after the worker first greeted the server,
  while it claims, hands over, waits for replies (the server answers after 0-60 ms) and records;
* ``before_greeting`` — the server has not answered EHLO: nothing was handed over;
* ``at_start`` — at a random instant 0-1 s after the worker was let go (the command's start,
  the sweep, or the first deliveries);

then a last worker settles everything (``drain``) and ``check`` compares the rows with the mail
the server kept. Imports nothing of Carethread (it reads the database with DB-API).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from smtp_stall import StallingHandler

TESTS_DIR = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
STYLES = {"after_data": 0.35, "mid_delivery": 0.35, "before_greeting": 0.15, "at_start": 0.15}
# Why a notification may legitimately end without a mail (the re-checks before sending).
SKIP_REASONS = {
    "recipient_inactive",
    "recipient_blocked",
    "no_address",
    "opted_out",
    "subject_gone",
    "retracted",
    "no_access",
    "already_read",
    "not_assignee",
}


class Row(NamedTuple):
    state: str
    handed: bool
    error: str
    attempts: int
    message_id: str
    retries: int


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
            "SELECT id, state, handed_at IS NOT NULL, last_error_code, attempts, message_id, "
            "unknown_outcome_retries FROM notifications_notification"
        )
        return {
            nid: Row(state, bool(handed), error, n, mid, retries)
            for nid, state, handed, error, n, mid, retries in found
        }

    def task_states(self) -> list[str]:
        return [s for (s,) in self._query("SELECT status FROM django_tasks_database_dbtaskresult")]

    def unsettled(self) -> int:
        return sum(row.state in ("pending", "sending") for row in self.rows().values())


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def worker_env(var_dir: Path, db_url: str, smtp_port: int) -> dict[str, str]:
    """The environment of the workers (short lease: ``worker_settings``), migrated."""
    env = {
        **os.environ,
        "CARETHREAD_VAR_DIR": str(var_dir),
        "DATABASE_URL": db_url,
        "DJANGO_SETTINGS_MODULE": "worker_settings",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(TESTS_DIR), str(HERE), os.environ.get("PYTHONPATH", "")) if p
        ),
        "CARETHREAD_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "CARETHREAD_LOG_LEVEL": "INFO",
    }
    subprocess.run(
        [sys.executable, "-m", "carethread", "migrate", "--verbosity", "0"],
        env=env,
        check=True,
        timeout=180,
    )
    return env


def make_world(env: dict[str, str], messages: int = 1) -> dict[int, str]:
    """The world and ``messages`` messages; returns {notification id: recipient's address}."""
    setup = subprocess.run(
        [sys.executable, str(HERE / "worker_world.py"), str(messages)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert setup.returncode == 0, setup.stderr
    return {int(k): v for k, v in json.loads(setup.stdout.splitlines()[-1]).items()}


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "carethread", "worker", "--interval", "0.2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def ready_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """A worker process that has done its imports and waits for ``go`` (``ready_worker.py``)."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, str(HERE / "ready_worker.py"), "--interval", "0.2"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def go(proc: subprocess.Popen) -> float:
    """Let a ready worker run; returns when (``time.monotonic``)."""
    assert proc.stdin is not None
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    return time.monotonic()


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def stop(proc: subprocess.Popen, log: Path) -> None:
    """SIGTERM: the worker finishes the task in hand and exits 0."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log.read_text()


@dataclass
class Kills:
    """What a run of kills did: how many of each style, and how long it took."""

    styles: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    logs: list[Path] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.styles.values())


def _moment(style: str, smtp: StallingHandler, rng: random.Random, started: float) -> bool:
    """Wait for the moment to kill; False when it did not come (no work left to reach it)."""
    if style == "after_data":
        return smtp.data_stalled.wait(30)
    if style == "before_greeting":
        return smtp.ehlo_stalled.wait(30)
    if style == "mid_delivery":
        if not smtp.greeted.wait(30):
            return False
        time.sleep(rng.uniform(0, 0.5))
        return True
    time.sleep(max(0.0, started + rng.uniform(0.0, 1.0) - time.monotonic()))
    return True


def kill_many(
    env: dict[str, str],
    db: WorkerDb,
    smtp: StallingHandler,
    kills: int,
    *,
    log_dir: Path,
    seed: int = 0,
) -> Kills:
    """Start a worker and SIGKILL it at a random moment, ``kills`` times (fewer if the work
    runs out first). The next worker is started while the current one runs and waits, its
    imports done, until the current one has been killed (``ready_worker``): a kill is not
    followed by a second or two of start-up."""
    rng = random.Random(seed)
    done = Kills()
    began = time.monotonic()
    styles, weights = zip(*STYLES.items(), strict=True)

    def spawn(n: int) -> subprocess.Popen:
        log = log_dir / f"killed-{n}.log"
        done.logs.append(log)
        return ready_worker(env, log)

    following = spawn(0)
    try:
        for n in range(kills):
            if not db.unsettled():
                break
            style = rng.choices(styles, weights)[0]
            smtp.reply_delay = (0.0, 0.06)
            mode = {"after_data": "stall_data", "before_greeting": "stall_ehlo"}
            smtp.arm(mode.get(style, "normal"))
            proc, started = following, go(following)
            following = spawn(n + 1)
            try:
                reached = _moment(style, smtp, rng, started)
            finally:
                kill(proc)
                smtp.release()
            if reached:
                done.styles[style] += 1
    finally:
        kill(following)  # waiting, never let go: not counted
        smtp.release()
    done.seconds = time.monotonic() - began
    return done


def drain(env: dict[str, str], db: WorkerDb, smtp: StallingHandler, log: Path) -> float:
    """A last worker, left alone until every notification is settled; returns the seconds it
    took (at least the dead workers' lease)."""
    smtp.arm("normal")
    smtp.reply_delay = None
    began = time.monotonic()
    proc = start_worker(env, log)
    try:
        wait_for(lambda: not db.unsettled(), 120, "every notification to be settled")
        wait_for(lambda: "RUNNING" not in db.task_states(), 60, "abandoned tasks to be settled")
    finally:
        stop(proc, log)
    return time.monotonic() - began


@dataclass
class Outcome:
    """The rows against the mail: ``lost`` must be empty."""

    rows: dict[int, Row]
    mails: Counter[str]
    lost: list[int]
    over_counted: list[int]
    strangers: list[str]

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.mails.values() if count > 1)

    @property
    def retries(self) -> int:
        return sum(row.retries for row in self.rows.values())

    def summary(self) -> dict[str, Any]:
        states = Counter(row.state for row in self.rows.values())
        return {
            "notifications": len(self.rows),
            **{state: states[state] for state in ("sent", "skipped", "failed")},
            "lost": len(self.lost),
            "mails": sum(self.mails.values()),
            "duplicates": self.duplicates,
            "unknown_outcome_retries": self.retries,
            "rows_retried": sum(row.retries > 0 for row in self.rows.values()),
            "max_retries_per_row": max((row.retries for row in self.rows.values()), default=0),
            "max_attempts_per_row": max((row.attempts for row in self.rows.values()), default=0),
        }


def check(rows: dict[int, Row], recipients: dict[int, str], smtp: StallingHandler) -> Outcome:
    """Lost: a row that is neither sent (with a mail carrying its Message-ID) nor skipped for a
    reason of the re-checks. Over-counted: more mails for a row than 1 + its counted retries.
    Strangers: mails whose Message-ID is no row's, or that went to someone else."""
    received = smtp.message_ids()
    mails = Counter(mid for mid, _ in received)
    owner = {row.message_id: recipients[nid] for nid, row in rows.items() if row.message_id}
    strangers = [mid for mid, rcpt in received if owner.get(mid) is None or rcpt != (owner[mid],)]
    lost = [
        nid
        for nid, row in rows.items()
        if not (row.state == "sent" and mails[row.message_id] >= 1)
        and not (row.state == "skipped" and row.error in SKIP_REASONS)
    ]
    over = [nid for nid, row in rows.items() if mails[row.message_id] > 1 + row.retries]
    return Outcome(rows=rows, mails=mails, lost=lost, over_counted=over, strangers=strangers)
