"""Time `carethread audit verify` on a large audit trail.

    .venv/bin/python bench/audit_verify_bench.py --entries 1000000

Uses DATABASE_URL when set (give it a scratch database: the audit tables get N more rows),
otherwise a fresh SQLite file in a temporary folder. Entries are written with
``append_entries`` (the same hash chain as ``record``, in batches), then the whole chain is
verified and the throughput printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000, help="entries per transaction")
    parser.add_argument("--chunk-size", type=int, default=5000, help="rows per verify fetch")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="audit-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ.setdefault("CARETHREAD_VAR_DIR", workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carethread.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from carethread.audit.actions import append_entries
    from carethread.audit.models import AuditEvent
    from carethread.audit.verify import verify_chain

    call_command("migrate", "audit", verbosity=0)
    existing = AuditEvent.objects.count()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"existing entries: {existing}")

    rng = random.Random(1)
    actions = ["auth.login", "message.view", "message.send", "message.read", "audit.report"]
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

    def entries(first: int, count: int):
        for i in range(first, first + count):
            yield {
                "occurred_at": start + dt.timedelta(seconds=i, microseconds=rng.randrange(10**6)),
                "actor_id": rng.randrange(1, 500),
                "actor_label": "9a1f5a52-3c5e-4d4e-8f8a-0c1d2e3f4a5b",
                "actor_role": rng.choice(["practice", "patient", "representative"]),
                "patient_id": rng.randrange(1, 20_000),
                "action": rng.choice(actions),
                "object_type": "messaging.message",
                "object_id": f"{rng.getrandbits(64):016x}",
                "outcome": "success",
                "source_address": "198.51.100.7",
                "details": {"count": rng.randrange(100), "channel": "web"},
            }

    began = time.perf_counter()
    written = 0
    while written < args.entries:
        count = min(args.batch, args.entries - written)
        written += append_entries(entries(written, count))
    insert_seconds = time.perf_counter() - began
    print(f"inserted {written} entries in {insert_seconds:.1f} s")

    began = time.perf_counter()
    result = verify_chain(chunk_size=args.chunk_size)
    verify_seconds = time.perf_counter() - began
    if not result.ok:
        print(f"verify FAILED: {result.problem}")
        return 1
    rate = result.entries / verify_seconds if verify_seconds else float("inf")
    print(
        f"verify: {result.entries} entries intact in {verify_seconds:.1f} s ({rate:,.0f} entries/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
