"""Sending through the REST API under ``carethread serve``, against a trivial authenticated GET.

    .venv/bin/python bench/send_bench.py                 # scratch PostgreSQL database
    .venv/bin/python bench/send_bench.py --clients 16 --seconds 30

Sets up a scratch database (DATABASE_URL when given — it must be a scratch database — else a
new PostgreSQL database on 127.0.0.1 that is dropped at the end): one practice, ``--clients``
clinicians with personal API tokens and MFA, as many patients, and one patient-started thread per
clinician. Starts ``carethread serve`` (gunicorn) on ``--port``, then runs ``--clients``
concurrent keep-alive HTTP clients for ``--seconds`` each on:

1. ``GET /api/me`` (authenticated, trivial), then
2. ``POST /api/threads/{uuid}/messages`` (a clinician's reply: encrypted, recorded, audited,
   notifications queued — the full send),

and prints throughput (requests/s), p50/p99 latency and the ratio send/GET.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def scratch_postgres() -> tuple[str, str]:
    import psycopg

    name = f"ct_send_bench_{os.getpid()}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}", name


def drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup(clients: int) -> list[tuple[str, str]]:
    """Migrate and create the people; returns (token, thread uuid) per client."""
    import django

    django.setup()
    import datetime as dt

    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.core.management import call_command
    from django.utils import timezone

    from carethread.accounts import actions as accounts
    from carethread.api.actions import create_token
    from carethread.core.models import (
        Encounter,
        EncounterParticipant,
        Membership,
        Organization,
        Patient,
        Practitioner,
    )
    from carethread.messaging import actions

    call_command("migrate", verbosity=0)
    org = Organization.objects.create(tin="271234567", name="Bench Practice")
    out = []
    for i in range(clients):
        clinician = Practitioner.objects.create(family_name=f"Clinician {i}")
        Membership.objects.create(practitioner=clinician, organization=org, role="clinician")
        c_user = accounts.create_user(f"c{i}@bench.example.org", practitioner=clinician)
        TOTP.activate(c_user, generate_totp_secret())
        patient = Patient.objects.create(
            mrn=f"B-{i:05d}", family_name=f"Patient {i}", birth_date=dt.date(1970, 1, 1),
            managing_organization=org,
        )  # fmt: skip
        p_user = accounts.create_user(f"p{i}@bench.example.com", patient=patient)
        visit = Encounter.objects.create(
            status="finished", class_code="AMB", patient=patient, organization=org,
            start=timezone.now() - dt.timedelta(days=20),
        )  # fmt: skip
        EncounterParticipant.objects.create(encounter=visit, practitioner=clinician)
        clinician.refresh_from_db()
        first = actions.start_thread(
            p_user, patient=patient, category="medical", subject="Question",
            body="A question for the benchmark", to_practitioners=[clinician],
        )  # fmt: skip
        out.append((create_token(c_user, "bench")[1], str(first.thread.uuid)))
    return out


def run_phase(
    port: int, plans: list[tuple[str, str]], seconds: float, warmup: float, send: bool
) -> tuple[int, list[float], int]:
    stop_at = time.perf_counter() + warmup + seconds
    measure_from = time.perf_counter() + warmup
    latencies: list[list[float]] = [[] for _ in plans]
    errors = [0] * len(plans)

    def client(index: int) -> None:
        token, thread = plans[index]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                break
            if send:
                body = json.dumps({"body": f"Reply {uuid.uuid4().hex}: take it with food."})
                conn.request("POST", f"/api/threads/{thread}/messages", body, headers)
            else:
                conn.request("GET", "/api/me", headers=headers)
            response = conn.getresponse()
            response.read()
            took = time.perf_counter() - now
            if response.status >= 400:
                errors[index] += 1
            elif now >= measure_from:
                latencies[index].append(took * 1000)
        conn.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(len(plans))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    flat = [v for per in latencies for v in per]
    return len(flat), flat, sum(errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--port", type=int, default=8190)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="send-bench-")
    dropped = None
    if not os.environ.get("DATABASE_URL"):
        url, dropped = scratch_postgres()
        os.environ["DATABASE_URL"] = url
    env = {
        **os.environ,
        "CARETHREAD_VAR_DIR": workdir,
        "CARETHREAD_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CARETHREAD_SEND_RATE_PER_HOUR": "100000000",
        "DJANGO_SETTINGS_MODULE": "carethread.settings",
    }
    os.environ.update(env)
    server = None
    try:
        plans = setup(args.clients)
        from django.db import connection

        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        connection.close()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "carethread"),
                "serve",
                "--bind",
                f"127.0.0.1:{args.port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
            ],
            env=env,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            print("the server did not start", file=sys.stderr)
            return 1
        print(
            f"server: carethread serve, {args.workers} workers x {args.threads} threads; "
            f"{args.clients} clients, {args.seconds:.0f} s per phase"
        )
        results = {}
        for label, send in (("GET /api/me", False), ("POST reply", True)):
            count, values, errors = run_phase(args.port, plans, args.seconds, args.warmup, send)
            rate = count / args.seconds
            results[label] = rate
            print(
                f"{label:12} {rate:7.1f} req/s  p50 {statistics.median(values):6.1f} ms  "
                f"p99 {percentile(values, 99):6.1f} ms  max {max(values):6.1f} ms  "
                f"errors {errors}"
            )
        print(f"ratio send/GET: {results['POST reply'] / results['GET /api/me']:.2f}")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        if dropped:
            drop_postgres(dropped)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
