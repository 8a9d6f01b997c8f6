"""Time the audit report page (/practice/audit) on a large audit trail.

    .venv/bin/python bench/audit_report_bench.py --entries 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ct_bench \
        .venv/bin/python bench/audit_report_bench.py --entries 1000000

Uses DATABASE_URL when set (give it an empty scratch database: every table is migrated and the
audit trail gets N rows), otherwise a fresh SQLite file in a temporary folder. Two practices
(the auditor's and another, each with practitioners and patients with logins) are bulk-inserted;
the entries are written with ``append_entries`` (the hash chain ``record`` writes, in batches),
their actors and patients drawn from both practices. Then, signed in as the auditor through
Django's test client (the whole request: middleware, gate, queries, template, the viewing's own
audit entry), it requests the first page and each single filter ``--repeat`` times and prints
p50 / p95 / max server times in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ACTIONS = [
    ("thread.view", 30),
    ("message.read", 25),
    ("message.send", 15),
    ("auth.login", 12),
    ("auth.logout", 8),
    ("attachment.download", 5),
    ("auth.login_failed", 3),
    ("setting.changed", 1),
    ("keys.rotated", 1),
]


def build_people(practitioners: int, patients: int) -> dict:
    """Two practices, their practitioners and patients with logins (bulk inserts); the
    auditor is the first practitioner of the first practice."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from carethread.accounts.models import User
    from carethread.core.models import Membership, Organization, Patient, Practitioner

    orgs = [
        Organization.objects.create(tin="271234567", name="Riverside Family Medicine"),
        Organization.objects.create(tin="271234568", name="Hillside Pediatrics"),
    ]
    people: dict = {"orgs": orgs, "users": {}, "patients": {}}
    for o, org in enumerate(orgs):
        n_prac, n_pat = (practitioners, patients) if o == 0 else (practitioners // 2, patients // 2)
        unusable = "!"  # no password: the bench signs in with force_login
        User.objects.bulk_create(
            [User(email=f"p{o}-{i}@bench.example", password=unusable) for i in range(n_prac)]
            + [User(email=f"pt{o}-{i}@bench.example", password=unusable) for i in range(n_pat)]
        )
        staff = list(User.objects.filter(email__startswith=f"p{o}-"))
        patient_users = list(User.objects.filter(email__startswith=f"pt{o}-"))
        users = staff + patient_users
        pracs = Practitioner.objects.bulk_create(
            [
                Practitioner(family_name=f"Clin{o}x{i}", given_name="Dr", user=u)
                for i, u in enumerate(staff)
            ]
        )
        Membership.objects.bulk_create(
            [
                Membership(practitioner=p, organization=org, role="clinician", is_auditor=i == 0)
                for i, p in enumerate(Practitioner.objects.filter(user__in=staff))
            ]
        )
        Patient.objects.bulk_create(
            [
                Patient(
                    mrn=f"MRN{o}-{i}",
                    family_name=f"Family{o}x{i}",
                    given_name="Pat",
                    birth_date=dt.date(1980, 1, 2),
                    managing_organization=org,
                    user=u,
                )
                for i, u in enumerate(patient_users)
            ]
        )
        people["users"][o] = [u.pk for u in users]
        people["patients"][o] = list(
            Patient.objects.filter(managing_organization=org).values_list("pk", flat=True)
        )
        del pracs
    auditor = User.objects.get(email="p0-0@bench.example")
    TOTP.activate(auditor, generate_totp_secret())
    people["auditor"] = auditor
    return people


def load_people() -> dict:
    """The people ``build_people`` wrote to this database before."""
    from carethread.accounts.models import User
    from carethread.core.models import Organization, Patient

    people: dict = {"users": {}, "patients": {}}
    for o, tin in enumerate(("271234567", "271234568")):
        org = Organization.objects.get(tin=tin)
        people["users"][o] = list(
            User.objects.filter(email__regex=rf"^pt?{o}-")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        people["patients"][o] = list(
            Patient.objects.filter(managing_organization=org).values_list("pk", flat=True)
        )
    people["auditor"] = User.objects.get(email="p0-0@bench.example")
    return people


def write_trail(people: dict, entries: int, batch: int) -> float:
    from carethread.audit.actions import append_entries

    rng = random.Random(1)
    codes, weights = zip(*ACTIONS, strict=True)
    addresses = [f"198.51.100.{i}" for i in range(1, 200)] + ["203.0.113.9"]
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    step = dt.timedelta(days=365) / max(entries, 1)

    def rows(first: int, count: int):
        for i in range(first, first + count):
            org = 0 if rng.random() < 0.7 else 1
            action = rng.choices(codes, weights)[0]
            patient = rng.choice(people["patients"][org]) if rng.random() < 0.8 else None
            yield {
                "occurred_at": start + step * i,
                "actor_id": rng.choice(people["users"][org]),
                "actor_label": "9a1f5a52-3c5e-4d4e-8f8a-0c1d2e3f4a5b",
                "actor_role": rng.choice(["clinician", "staff", "patient"]),
                "patient_id": patient,
                "action": action,
                "object_type": "messaging.thread",
                "object_id": f"{rng.getrandbits(64):016x}",
                "outcome": "failure" if action == "auth.login_failed" else "success",
                "source_address": rng.choice(addresses),
                "details": {"count": rng.randrange(100)},
            }

    began = time.perf_counter()
    written = 0
    while written < entries:
        count = min(batch, entries - written)
        written += append_entries(rows(written, count))
        print(f"\r  {written:,} entries", end="", flush=True)
    print()
    return time.perf_counter() - began


def cases(people: dict) -> list[tuple[str, dict[str, str]]]:
    from carethread.accounts.models import User
    from carethread.core.models import Patient

    user = User.objects.get(pk=people["users"][0][3])
    patient = Patient.objects.get(pk=people["patients"][0][5])
    return [
        ("first page", {}),
        ("period (one month)", {"start": "2025-06-01", "end": "2025-06-30"}),
        ("user", {"user": str(user.uuid)}),
        ("patient", {"patient": str(patient.uuid)}),
        ("action (common)", {"action": "thread.view"}),
        ("action (rare)", {"action": "keys.rotated"}),
        ("outcome failure", {"outcome": "failure"}),
        ("client address", {"address": "203.0.113.9"}),
        ("page 20", {"page": "20"}),
        ("sort by user (extra)", {"sort": "user", "action": "keys.rotated"}),
    ]


class SqlClock:
    """Adds up the time spent in the database (a connection execute wrapper)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - began


def time_page(client, params: dict[str, str], repeat: int) -> tuple[list[float], list[float]]:
    """Server times of ``repeat`` requests and the database's share of each (ms)."""
    from django.db import connection

    times, sql = [], []
    for _ in range(repeat):
        clock = SqlClock()
        with connection.execute_wrapper(clock):
            began = time.perf_counter()
            response = client.get("/practice/audit", params)
            times.append((time.perf_counter() - began) * 1000)
        sql.append(clock.seconds * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{params}: status {response.status_code}")
    return times, sql


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000, help="entries per transaction")
    parser.add_argument("--practitioners", type=int, default=40)
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="audit-report-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ.setdefault("CARETHREAD_VAR_DIR", workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carethread.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    from carethread.audit.models import AuditEvent

    existing = AuditEvent.objects.count()
    if existing >= args.entries:
        # A database this bench filled before (DATABASE_URL): time it again as it is.
        people = load_people()
        print(f"reusing {existing:,} entries")
    else:
        people = build_people(args.practitioners, args.patients)
        seconds = write_trail(people, args.entries, args.batch)
        print(f"wrote {args.entries:,} entries in {seconds:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    client = Client()
    client.force_login(people["auditor"])
    time_page(client, {}, 2)  # warm up
    print(f"\n{'request':<24} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'sql p50':>8} {'rows':>5}")
    for name, params in cases(people):
        times, sql = time_page(client, params, args.repeat)
        rows = client.get("/practice/audit", params).content.count(b'data-seq="')
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        print(
            f"{name:<24} {statistics.median(times):>8.1f} {p95:>8.1f} {max(times):>8.1f} "
            f"{statistics.median(sql):>8.1f} {rows:>5}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
