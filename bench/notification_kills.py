"""Notifications under many SIGKILLs of the worker: none lost, duplicates recognisable.

    .venv/bin/python bench/notification_kills.py                       # 100 kills, SQLite
    .venv/bin/python bench/notification_kills.py --kills 300 --postgres
    .venv/bin/python bench/notification_kills.py --kills 50 --messages 100 --seed 3

Builds the tests' practice world on a scratch database (a SQLite file, or with ``--postgres`` a
new PostgreSQL database on 127.0.0.1 that is dropped at the end), with ``--messages`` messages
from a clinician to a patient who has a representative (two notifications each; default two
messages per kill). Starts a real SMTP server, then ``carethread worker`` processes (3-second
lease) and SIGKILLs each at a random moment — between the end of DATA and the server's reply,
mid delivery, before the server's greeting, or just after start
(``tests/notifications/kill_run.py``) — ``--kills`` times; a last worker settles everything.
Prints the kills by moment and the
outcome as JSON: notifications sent / skipped / failed, ``lost`` (must be 0), mails received,
duplicates (all carrying their notification's Message-ID), retries after an unknown outcome,
and the time taken. Exit status 1 when anything was lost, over-counted or unrecognisable.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "notifications"), str(ROOT / "tests")]

import kill_run  # noqa: E402
import smtp_stall  # noqa: E402


def scratch_postgres() -> tuple[str, str]:
    import psycopg

    name = f"ct_kill_bench_{os.getpid()}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}", name


def drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(args: argparse.Namespace, var_dir: Path, url: str, db: kill_run.WorkerDb) -> int:
    smtp = smtp_stall.StallingHandler()
    controller = smtp_stall.start(smtp)
    try:
        began = time.monotonic()
        env = kill_run.worker_env(var_dir, url, smtp.port)
        recipients = kill_run.make_world(env, messages=args.messages or 2 * args.kills)
        ready = time.monotonic()
        kills = kill_run.kill_many(env, db, smtp, args.kills, log_dir=var_dir, seed=args.seed)
        drained = kill_run.drain(env, db, smtp, var_dir / "last.log")
        outcome = kill_run.check(db.rows(), recipients, smtp)
    finally:
        smtp.release()
        controller.stop()
    report = {
        "database": "postgresql" if args.postgres else "sqlite",
        "kills": kills.total,
        "kills_by_moment": dict(sorted(kills.styles.items())),
        **outcome.summary(),
        "over_counted": len(outcome.over_counted),
        "unrecognised_mails": len(outcome.strangers),
        "seconds_setup": round(ready - began, 1),
        "seconds_kills": round(kills.seconds, 1),
        "seconds_settle": round(drained, 1),
    }
    print(json.dumps(report, indent=2))
    return 1 if outcome.lost or outcome.over_counted or outcome.strangers else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--messages", type=int, default=0, help="default: 2 per kill")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--postgres", action="store_true", help="a scratch PostgreSQL database")
    args = parser.parse_args()
    if args.kills < 1 or args.messages < 0:
        parser.error("--kills must be positive and --messages not negative")
    with tempfile.TemporaryDirectory(prefix="ct-kill-bench-") as tmp:
        var_dir = Path(tmp)
        if args.postgres:
            import psycopg

            url, name = scratch_postgres()
            try:
                return run(args, var_dir, url, kill_run.WorkerDb(url, lambda: psycopg.connect(url)))
            finally:
                drop_postgres(name)
        path = var_dir / "workers.sqlite3"
        db = kill_run.WorkerDb(f"sqlite:///{path}", lambda: sqlite3.connect(path, timeout=10))
        return run(args, var_dir, f"sqlite:///{path}", db)


if __name__ == "__main__":
    raise SystemExit(main())
