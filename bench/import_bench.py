"""Import benchmark: ``carethread synth`` a data set, then time ``carethread import`` of it on a
fresh SQLite file and a fresh PostgreSQL database (created and dropped here).

    .venv/bin/python bench/import_bench.py --patients 100000

Prints resources, seconds, resources per second and the import's peak RSS per database; exits 1
if a run misses the target (10,000 resources/s, peak RSS under 2 GB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATE = 10_000
RSS_LIMIT_MB = 2048
BIN = Path(sys.executable).parent
# Runs a command and reports the peak RSS of it (and only it) on the last stderr line, in KiB.
RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def carethread(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "carethread"), *args], env=env, check=True)


def timed_import(data: Path, env: dict[str, str]) -> tuple[float, float]:
    command = [sys.executable, "-c", RSS_WRAPPER, str(BIN / "carethread"), "import", str(data)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"import failed ({done.returncode}):\n{done.stderr[-4000:]}")
    print("  " + done.stdout.strip())
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def count_resources(data: Path) -> int:
    total = 0
    for path in data.glob("*.ndjson"):
        with path.open("rb") as fh:
            total += sum(1 for line in fh if line.strip())
    return total


def run(label: str, data: Path, resources: int, env: dict[str, str]) -> bool:
    carethread("migrate", "--verbosity", "0", env=env)
    seconds, rss_mb = timed_import(data, env)
    rate = resources / seconds
    ok = rate >= TARGET_RATE and rss_mb < RSS_LIMIT_MB
    print(
        f"{label}: {resources} resources in {seconds:.1f} s = {rate:,.0f} resources/s, "
        f"peak RSS {rss_mb:,.0f} MB {'OK' if ok else 'BELOW TARGET'}"
    )
    return ok


def postgres_database(base_url: str, name: str, create: bool) -> None:
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')
        else:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "CARETHREAD_VAR_DIR": str(root / "var")}
        env.pop("DATABASE_URL", None)
        data = root / "data"
        started = time.perf_counter()
        carethread(
            "synth",
            "--patients",
            str(args.patients),
            "--seed",
            str(args.seed),
            "--out",
            str(data),
            env=env,
        )
        resources = count_resources(data)
        print(f"synth: {resources} resources in {time.perf_counter() - started:.1f} s")
        sqlite_env = {**env, "DATABASE_URL": f"sqlite:///{root / 'bench.sqlite3'}"}
        results.append(run("SQLite", data, resources, sqlite_env))
        if not args.skip_postgres:
            name = f"carethread_import_bench_{os.getpid()}"
            postgres_database(args.postgres, name, create=True)
            try:
                pg_env = {**env, "DATABASE_URL": f"{args.postgres}/{name}"}
                results.append(run("PostgreSQL", data, resources, pg_env))
            finally:
                postgres_database(args.postgres, name, create=False)
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
