"""Measure benchmark: the full ``individual`` report with patient lists, every clinician, a year.

    .venv/bin/python bench/measure_bench.py --setup            # synth + import, then benchmark
    .venv/bin/python bench/measure_bench.py --standard         # benchmark the prepared data sets
    .venv/bin/python bench/measure_bench.py --db /path/x.sqlite3 --db postgres://.../db
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/db .venv/bin/python bench/measure_bench.py

What it times, in a fresh subprocess per measurement (nothing cached from an earlier run but the
operating system's and the database server's caches): ``engine.compute`` of
``request.parse(RequestInput(program=--program, start=YEAR-01-01, end=YEAR-12-31,
level="individual", patients=True))``, then the serialisation of the document to JSON
(``exports.to_json`` when that module has it, else ``json.dumps``) written to a temporary file.
It prints, per database, the counts in it (patients, encounters, messages), the rows and patient
entries of the report, the median and the best of ``--repeat`` runs for compute, serialisation
and their total, the size of the JSON and the peak RSS of the measuring process (``VmHWM``; the
database server's own memory is not in it). With two or more databases of the same kind it
prints the growth: time ratio against encounter ratio between the smallest and the largest. Runs
go round-robin over the databases (one run of each per round), so that load from other work
falls on every size alike; the load average is printed with every run, as figures taken on a
busy machine mean little.

Targets (the issue): total under 10 s (``--target-seconds``) on every database measured (the
target is stated for the 1,000,000-encounter set), peak RSS under 2 GB, and time growing no
faster than linearly (the ratio of the best totals at most the encounter ratio, plus
``--growth-slack``, default 10%, for noise). Exit 1 when one is missed.

Data sets (``--standard`` and ``--setup``): ``carethread synth --seed 1 --year 2018`` with
83,400 patients (about 250,000 encounters) and 333,600 patients (about 1,000,000 encounters,
four times as many), named ``250k`` and ``1m`` (``--sizes``). Each is imported into a SQLite file
``DATA_DIR/<name>.sqlite3`` and a PostgreSQL database ``ct_bench_<name>`` on ``--postgres``;
the synth output stays in ``DATA_DIR/synth-<name>``, and every run uses ``DATA_DIR/var`` as
``CARETHREAD_VAR_DIR`` (the key file the import encrypted with). ``DATA_DIR`` is
``--data-dir``, default ``$CARETHREAD_BENCH_DATA`` or ``/work/bench-data``. The year 2018 makes
the default program ``pi-2018`` (MIPS Promoting Interoperability, default level ``individual``)
cover exactly the data's year, so the report carries no "period outside the program's year"
warning. ``--setup`` drops and rebuilds all of it (20 to 25 minutes on 2 cores, most of it the
two 1M imports) and prints the synth and import times; ``--setup-only`` stops there.

After each PostgreSQL import ``--setup`` runs ``ANALYZE``, as autovacuum would shortly after a
bulk load (the header of each database says whether its tables have planner statistics;
``--analyze`` runs it on the databases given). ``--migrate`` applies pending migrations to each
database first (a database with pending migrations is refused otherwise: the engine's queries
may rely on a new index). ``--profile`` adds one more run per database under cProfile, with
every SQL statement the engine ran timed on its own (re-run, all rows fetched) and its plan
(``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL), written to a
text file whose path is printed.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_SECONDS = 10.0
RSS_LIMIT_MB = 2048
DEFAULT_SIZES = "250k:83400,1m:333600"
MARK = "MEASURE-BENCH-RESULT "
# Runs a command and reports the peak RSS of it (and only it) on the last stderr line, in KiB.
RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass
class Target:
    label: str
    url: str

    @property
    def vendor(self) -> str:
        return "sqlite" if self.url.startswith("sqlite:") else "postgresql"


def database_url(spec: str) -> str:
    if spec.startswith(("sqlite:", "postgres:", "postgresql:", "pgsql:")):
        return spec
    return f"sqlite:///{Path(spec).resolve()}"


def short_label(spec: str) -> str:
    """A file name or a database name, for the table."""
    return database_url(spec).rstrip("/").rsplit("/", 1)[-1].split("?")[0]


def parse_sizes(text: str) -> list[tuple[str, int]]:
    sizes = []
    for item in text.split(","):
        name, sep, patients = item.partition(":")
        if not sep or not name or not patients.isdigit():
            raise SystemExit(f"--sizes takes NAME:PATIENTS,...; not {item!r}")
        sizes.append((name.strip(), int(patients)))
    return sizes


def standard_targets(args: argparse.Namespace) -> list[Target]:
    targets = []
    for backend in ("sqlite", "postgres"):
        if args.backend not in (backend, "both"):
            continue
        for name, _ in parse_sizes(args.sizes):
            if backend == "sqlite":
                url = f"sqlite:///{args.data_dir / f'{name}.sqlite3'}"
                targets.append(Target(f"SQLite {name}", url))
            else:
                targets.append(Target(f"PostgreSQL {name}", f"{args.postgres}/ct_bench_{name}"))
    return targets


def child_env(args: argparse.Namespace, url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "CARETHREAD_DEBUG": "0"}
    env["CARETHREAD_VAR_DIR"] = str(args.var_dir)
    env["DJANGO_SETTINGS_MODULE"] = "carethread.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


# --- setup: synth and import ------------------------------------------------------------------


def carethread(*argv: str, env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "carethread"), *argv], env=env, check=True)


def timed_import(data: Path, env: dict[str, str]) -> tuple[float, float]:
    command = [sys.executable, "-c", RSS_WRAPPER, str(BIN / "carethread"), "import", str(data)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"import failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def postgres_admin(base_url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def setup(args: argparse.Namespace) -> None:
    args.data_dir.mkdir(parents=True, exist_ok=True)
    table = []
    for name, patients in parse_sizes(args.sizes):
        out = args.data_dir / f"synth-{name}"
        shutil.rmtree(out, ignore_errors=True)
        env = child_env(args, "sqlite:///unused")
        started = time.perf_counter()
        carethread(
            "synth",
            "--patients",
            str(patients),
            "--seed",
            str(args.seed),
            "--year",
            str(args.year),
            "--out",
            str(out),
            env=env,
        )
        synth_seconds = time.perf_counter() - started
        for target in standard_targets(args):
            if not target.label.endswith(f" {name}"):
                continue
            if target.vendor == "sqlite":
                path = args.data_dir / f"{name}.sqlite3"
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            else:
                db = f"ct_bench_{name}"
                postgres_admin(
                    args.postgres,
                    f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)',
                    f'CREATE DATABASE "{db}"',
                )
            env = child_env(args, target.url)
            carethread("migrate", "--verbosity", "0", "--skip-checks", env=env)
            print(f"importing {out} into {target.label} ({load()})", flush=True)
            seconds, rss = timed_import(out, env)
            if target.vendor == "postgresql":
                # What autovacuum would do soon after a bulk load; a server running without it
                # (as test servers often do) would otherwise plan the report's queries blind.
                analyze(target.url)
            table.append((target.label, patients, synth_seconds, seconds, rss))
            print(f"  {target.label}: import {seconds:.1f} s, peak RSS {rss:,.0f} MB", flush=True)
    print()
    print(f"{'data set':<18} {'patients':>9} {'synth s':>8} {'import s':>9} {'import RSS MB':>14}")
    for label, patients, synth_seconds, seconds, rss in table:
        print(f"{label:<18} {patients:>9,} {synth_seconds:>8.1f} {seconds:>9.1f} {rss:>14,.0f}")
    print()


# --- the measuring subprocess -----------------------------------------------------------------


def peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_setup() -> None:
    import django

    django.setup()


def child_info() -> dict[str, Any]:
    """Counts that describe the database, and whether migrations are pending."""
    child_setup()
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.models import Max, Min

    from carethread.core.models import Encounter, Membership, Organization, Patient
    from carethread.messaging.models import Message, Thread

    executor = MigrationExecutor(connection)
    pending = [
        f"{migration.app_label}.{migration.name}"
        for migration, _ in executor.migration_plan(executor.loader.graph.leaf_nodes())
    ]
    if pending:
        return {"pending": pending}
    span = Encounter.objects.aggregate(first=Min("start"), last=Max("start"))
    planner = "n/a"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            size = cursor.fetchone()[0]
            # Tables the planner has no statistics for (never analysed since they were filled).
            cursor.execute(
                "SELECT count(*) FROM pg_stat_user_tables WHERE n_live_tup > 0 "
                "AND last_analyze IS NULL AND last_autoanalyze IS NULL"
            )
            blind = cursor.fetchone()[0]
            planner = "analysed" if blind == 0 else f"{blind} tables never analysed"
    else:
        size = Path(connection.settings_dict["NAME"]).stat().st_size
    return {
        "pending": [],
        "vendor": connection.vendor,
        "organizations": Organization.objects.count(),
        "clinicians": Membership.objects.filter(role="clinician").count(),
        "patients": Patient.objects.count(),
        "encounters": Encounter.objects.count(),
        "threads": Thread.objects.count(),
        "messages": Message.objects.count(),
        "first": span["first"].date().isoformat() if span["first"] else None,
        "last": span["last"].date().isoformat() if span["last"] else None,
        "size_mb": size / 1024 / 1024,
        "statistics": planner,
    }


def serializer(choice: str) -> tuple[str, Any]:
    if choice in ("auto", "exports"):
        try:
            from carethread.measures.exports import to_json

            return "exports.to_json", to_json
        except ImportError:
            if choice == "exports":
                raise
    return "json.dumps", json.dumps


def child_measure(spec: dict[str, Any]) -> dict[str, Any]:
    child_setup()
    from django.db import connection

    from carethread.measures import engine
    from carethread.measures.request import RequestInput, parse

    request = parse(
        RequestInput(
            program=spec["program"],
            start=spec["start"],
            end=spec["end"],
            level="individual",
            patients=True,
        )
    )
    name, dump = serializer(spec["serializer"])
    connection.ensure_connection()
    profiler = None
    queries: list[dict[str, Any]] = []
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append({"sql": sql, "params": params, "seconds": time.perf_counter() - began})

    # The engine names its phases through ``on_step`` when it offers it: timed here at no cost.
    steps: list[tuple[str, float]] = []
    options: dict[str, Any] = {}
    if "on_step" in inspect.signature(engine.compute).parameters:
        options["on_step"] = lambda label: steps.append((label, time.perf_counter()))
    started = time.perf_counter()
    if profiler is not None:
        with connection.execute_wrapper(record):
            profiler.enable()
            doc = engine.compute(request, **options)
            profiler.disable()
    else:
        doc = engine.compute(request, **options)
    computed = time.perf_counter()
    marks = [("start", started), *steps, ("end", computed)]
    phases = {label: round(marks[i + 1][1] - at, 3) for i, (label, at) in enumerate(marks[:-1])}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        fh.write(dump(doc))
        out = fh.name
    serialised = time.perf_counter()
    json_mb = os.path.getsize(out) / 1024 / 1024
    os.unlink(out)
    results = doc.get("results", [])
    result = {
        "compute": computed - started,
        "serialise": serialised - computed,
        "serializer": name,
        "rows": len(results),
        "patients": sum(len(row.get("patients") or ()) for row in results),
        "numerator": sum(row.get("numerator") or 0 for row in results),
        "json_mb": json_mb,
        "warnings": doc.get("warnings", []),
        "rss_mb": peak_rss_mb(),
        "phases": phases,
    }
    if profiler is not None:
        result["profile_file"] = write_profile(spec, profiler, queries)
    return result


def write_profile(spec: dict[str, Any], profiler: Any, queries: list[dict[str, Any]]) -> str:
    import io
    import pstats

    from django.db import connection

    out = io.StringIO()
    for order in ("cumulative", "tottime"):
        out.write(f"=== cProfile, top 40 by {order}\n")
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(40)
    out.write(f"=== SQL: {len(queries)} statements\n")
    explain = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if connection.vendor == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    summary = []
    for number, query in enumerate(queries, start=1):
        sql, params = query["sql"], query["params"]
        with connection.cursor() as cursor:
            began = time.perf_counter()
            cursor.execute(sql, params)
            rows = len(cursor.fetchall()) if cursor.description else cursor.rowcount
            alone = time.perf_counter() - began
            cursor.execute(explain + sql, params)
            plan = "\n".join(" | ".join(str(col) for col in row) for row in cursor.fetchall())
        summary.append((alone, number, rows, " ".join(sql.split())[:160]))
        out.write(
            f"\n--- statement {number}: execute {query['seconds']:.3f} s in the run; "
            f"re-run with all rows fetched {alone:.3f} s, {rows} rows\n{sql}\n"
            f"params: {params!r}\n--- plan\n{plan}\n"
        )
    out.write("\n=== SQL by re-run time\n")
    for alone, number, rows, text in sorted(summary, reverse=True):
        out.write(f"{alone:8.3f} s  #{number:<3} {rows:>9} rows  {text}\n")
    path = Path(tempfile.gettempdir()) / f"measure-bench-profile-{spec['label']}.txt"
    path.write_text(out.getvalue())
    return str(path)


def run_child(args: argparse.Namespace, target: Target, mode: str, spec: dict[str, Any]) -> Any:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, json.dumps(spec)]
    done = subprocess.run(
        command, env=child_env(args, target.url), capture_output=True, text=True, check=False
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    sys.exit(f"{target.label}: {mode} failed ({done.returncode}):\n{done.stderr[-4000:]}")


# --- the parent: benchmark and report ---------------------------------------------------------


def migrate_or_refuse(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    info = run_child(args, target, "info", {})
    if info["pending"] and args.migrate:
        print(f"{target.label}: applying {', '.join(info['pending'])}", flush=True)
        carethread("migrate", "--verbosity", "0", "--skip-checks", env=child_env(args, target.url))
        info = run_child(args, target, "info", {})
    if info["pending"]:
        sys.exit(
            f"{target.label} has pending migrations ({', '.join(info['pending'])}); "
            "run with --migrate"
        )
    return info


def describe(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    if args.analyze and target.vendor == "postgresql":
        analyze(target.url)
    info = migrate_or_refuse(args, target)
    print(
        f"{target.label} ({target.url}): {info['organizations']} practices, "
        f"{info['clinicians']} clinician memberships, {info['patients']:,} patients, "
        f"{info['encounters']:,} encounters ({info['first']} .. {info['last']}), "
        f"{info['threads']:,} threads, {info['messages']:,} messages, "
        f"{info['size_mb']:,.0f} MB, planner statistics: {info['statistics']}",
        flush=True,
    )
    spec = {
        "program": args.program,
        "start": f"{args.year}-01-01",
        "end": f"{args.year}-12-31",
        "serializer": args.serializer,
        "label": target.label.replace(" ", "-").lower(),
    }
    return {"target": target, "info": info, "spec": spec, "runs": []}


def measure_all(args: argparse.Namespace, targets: list[Target]) -> list[dict[str, Any]]:
    """Round-robin: run ``number`` of every database, then the next round, so that a burst of
    load from other work falls on all of them alike rather than on one size."""
    measured = [describe(args, target) for target in targets]
    for _ in range(args.warmup):
        for item in measured:
            run_child(args, item["target"], "measure", item["spec"])
    for number in range(1, args.repeat + 1):
        print(f"\nround {number} ({load()})", flush=True)
        for item in measured:
            run = run_child(args, item["target"], "measure", item["spec"])
            item["runs"].append(run)
            phases = "  ".join(f"{k} {v:.2f}" for k, v in run["phases"].items() if v >= 0.005)
            print(
                f"  {item['target'].label:<18} compute {run['compute']:6.2f} s  "
                f"serialise {run['serialise']:5.2f} s  "
                f"total {run['compute'] + run['serialise']:6.2f} s  "
                f"peak RSS {run['rss_mb']:,.0f} MB  ({load()})"
                + (f"\n  {'':<18} phases: {phases}" if phases else ""),
                flush=True,
            )
    print()
    for item in measured:
        runs, label = item["runs"], item["target"].label
        if runs[0]["phases"]:
            median = {
                name: statistics.median(run["phases"].get(name, 0.0) for run in runs)
                for name in runs[0]["phases"]
            }
            shown = "  ".join(f"{k} {v:.2f}" for k, v in median.items() if v >= 0.005)
            print(f"{label}: median compute phases (s): {shown}")
        first = runs[0]
        print(
            f"{label}: {first['rows']} rows, {first['patients']:,} patient entries, numerator "
            f"sum {first['numerator']:,}, JSON {first['json_mb']:.1f} MB via {first['serializer']}"
        )
        for warning in first["warnings"]:
            print(f"{label}: warning in the report: {warning}")
        if args.profile:
            profile = run_child(args, item["target"], "measure", {**item["spec"], "profile": True})
            print(
                f"{label}: profile (compute {profile['compute']:.2f} s): {profile['profile_file']}"
            )
    return measured


def summarise(args: argparse.Namespace, measured: list[dict[str, Any]]) -> bool:
    ok = True
    print()
    header = (
        f"{'database':<18} {'encounters':>10} {'patients':>9} {'messages':>9} {'rows':>5} "
        f"{'pt entries':>10} {'compute s':>13} {'json s':>11} {'total s':>13} {'RSS MB':>7}"
    )
    print(header)
    print(f"{'':<65}{'median/best':>13} {'median/best':>11} {'median/best':>13}")
    for item in measured:
        runs, info = item["runs"], item["info"]
        compute = [r["compute"] for r in runs]
        serialise = [r["serialise"] for r in runs]
        total = [r["compute"] + r["serialise"] for r in runs]
        rss = max(r["rss_mb"] for r in runs)
        item["total"] = statistics.median(total)
        item["best"] = min(total)
        good = item["total"] < args.target_seconds and rss < RSS_LIMIT_MB
        ok = ok and good
        print(
            f"{item['target'].label:<18} {info['encounters']:>10,} {info['patients']:>9,} "
            f"{info['messages']:>9,} {runs[0]['rows']:>5} {runs[0]['patients']:>10,} "
            f"{statistics.median(compute):>6.2f}/{min(compute):<6.2f} "
            f"{statistics.median(serialise):>5.2f}/{min(serialise):<5.2f} "
            f"{statistics.median(total):>6.2f}/{min(total):<6.2f} {rss:>7,.0f} "
            f"{'OK' if good else 'MISSED'}"
        )
    for vendor in ("sqlite", "postgresql"):
        same = sorted(
            (m for m in measured if m["target"].vendor == vendor),
            key=lambda m: m["info"]["encounters"],
        )
        if len(same) < 2 or not same[0]["info"]["encounters"]:
            continue
        small, large = same[0], same[-1]
        encounter_ratio = large["info"]["encounters"] / small["info"]["encounters"]
        time_ratio = large["total"] / small["total"]
        best_ratio = large["best"] / small["best"]
        # Judged on the best runs: the least disturbed by other work on a shared machine.
        good = best_ratio <= encounter_ratio * (1 + args.growth_slack)
        ok = ok and good
        print(
            f"growth {vendor}: {small['target'].label} -> {large['target'].label}: "
            f"encounters x{encounter_ratio:.2f}, total time x{best_ratio:.2f} best to best "
            f"(x{time_ratio:.2f} median to median) "
            f"({'linear' if good else 'FASTER THAN LINEAR'}, slack {args.growth_slack:.0%})"
        )
    print(f"targets: total < {args.target_seconds:g} s, peak RSS < {RSS_LIMIT_MB} MB; {load()}")
    return ok


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        mode, spec = sys.argv[2], json.loads(sys.argv[3])
        result = child_info() if mode == "info" else child_measure(spec)
        print(MARK + json.dumps(result), flush=True)
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db",
        action="append",
        default=[],
        help="a SQLite file or a DATABASE_URL (repeatable); default $DATABASE_URL",
    )
    parser.add_argument(
        "--standard", action="store_true", help="the prepared data sets (--sizes x --backend)"
    )
    parser.add_argument("--setup", action="store_true", help="(re)create the data sets first")
    parser.add_argument("--setup-only", action="store_true")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="NAME:PATIENTS,... for synth")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=2018, help="synth year and report year")
    parser.add_argument("--program", default="pi-2018")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=0, help="untimed runs first")
    parser.add_argument("--serializer", choices=("auto", "exports", "json"), default="auto")
    parser.add_argument("--profile", action="store_true", help="one more run under cProfile")
    parser.add_argument("--migrate", action="store_true", help="apply pending migrations")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE PostgreSQL first")
    parser.add_argument("--target-seconds", type=float, default=TARGET_SECONDS)
    parser.add_argument("--growth-slack", type=float, default=0.10)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("CARETHREAD_BENCH_DATA", "/work/bench-data")),
    )
    parser.add_argument(
        "--var-dir", type=Path, help="CARETHREAD_VAR_DIR of the runs; default DATA_DIR/var"
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    args.data_dir = args.data_dir.resolve()
    args.var_dir = (args.var_dir or args.data_dir / "var").resolve()
    if args.setup or args.setup_only:
        setup(args)
        if args.setup_only:
            return 0
    if args.db:
        targets = [Target(short_label(spec), database_url(spec)) for spec in args.db]
    elif args.standard or args.setup:
        targets = standard_targets(args)
    elif os.environ.get("DATABASE_URL"):
        targets = [Target("DATABASE_URL", os.environ["DATABASE_URL"])]
    else:
        parser.error("give --db, --standard, --setup or DATABASE_URL")
    measured = measure_all(args, targets)
    return 0 if summarise(args, measured) else 1


if __name__ == "__main__":
    raise SystemExit(main())
