"""Inbox listing with a large message table: latency of the first inbox page.

    .venv/bin/python bench/inbox_bench.py --messages 1000000

Uses DATABASE_URL when set (give it a scratch database), otherwise a fresh SQLite file in a
temporary folder. Builds one practice with ``--clinicians`` clinicians and ``--patients``
patients (each with a login), then threads of ``--per-thread`` messages between a patient and a
clinician until ``--messages`` messages exist (bulk inserts; every subject and body encrypted
like the live system does). Then it times, for random clinicians and patients:

* ``queries.inbox`` (the first page of "mine", 50 rows, subjects decrypted), and
* ``GET /api/threads`` through the whole Django stack (token auth, JSON),

and prints p50 / p95 / max in milliseconds and the query count of one request. Unread: the side
that did not write a thread's last message has it unread in half of the threads active in the
last two weeks of the data set (a clinician then has about 750 unread threads of 5,000).
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


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--per-thread", type=int, default=5)
    parser.add_argument("--clinicians", type=int, default=40)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=400, help="timed inbox requests per kind")
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="inbox-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ.setdefault("CARETHREAD_VAR_DIR", workdir)
    os.environ.setdefault("CARETHREAD_ALLOWED_HOSTS", "testserver,127.0.0.1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carethread.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from carethread.messaging.models import Message

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    rng = random.Random(7)
    if Message.objects.count() >= args.messages:
        # A database filled by an earlier run (same DATABASE_URL): time it again.
        print(f"reusing {Message.objects.count():,} messages")
        return measure(args, rng)
    fill(args, rng)
    return measure(args, rng)


def fill(args: argparse.Namespace, rng: random.Random) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from carethread.accounts.models import User
    from carethread.core.models import Membership, Organization, Patient, Practitioner
    from carethread.messaging.models import Message, Recipient, Thread, ThreadMember

    password = make_password("bench-password-2026")

    began = time.perf_counter()
    with transaction.atomic():
        org = Organization.objects.create(tin="271234567", name="Bench Practice")
        users = User.objects.bulk_create(
            [
                User(email=f"c{i}@bench.example.org", password=password)
                for i in range(args.clinicians)
            ]
            + [
                User(email=f"p{i}@bench.example.com", password=password)
                for i in range(args.patients)
            ]
        )
        users = list(User.objects.order_by("pk"))
        clin_users, pat_users = users[: args.clinicians], users[args.clinicians :]
        clinicians = Practitioner.objects.bulk_create(
            [Practitioner(family_name=f"Clinician {i}", user=u) for i, u in enumerate(clin_users)]
        )
        clinicians = list(Practitioner.objects.order_by("pk"))
        Membership.objects.bulk_create(
            [Membership(practitioner=c, organization=org, role="clinician") for c in clinicians]
        )
        Patient.objects.bulk_create(
            [
                Patient(
                    mrn=f"B-{i:07d}",
                    family_name=f"Patient {i}",
                    birth_date=dt.date(1970, 1, 1),
                    managing_organization=org,
                    user=u,
                )
                for i, u in enumerate(pat_users)
            ],
            batch_size=args.batch,
        )
    patients = list(Patient.objects.order_by("pk").values_list("pk", "user_id"))
    clinician_rows = [(c.pk, c.user_id) for c in clinicians]
    print(f"people: {time.perf_counter() - began:.1f} s")

    began = time.perf_counter()
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    # Threads start 20 s apart; the last two weeks of that span hold the unread ones.
    recent_from = start + dt.timedelta(seconds=20 * (args.messages // args.per_thread), days=-14)
    n_threads = args.messages // args.per_thread
    written = 0
    t_index = 0
    while t_index < n_threads:
        count = min(args.batch // args.per_thread, n_threads - t_index)
        with transaction.atomic():
            threads, plans = [], []
            for i in range(t_index, t_index + count):
                patient_id, patient_user = patients[rng.randrange(len(patients))]
                clinician_id, clinician_user = clinician_rows[rng.randrange(len(clinician_rows))]
                first = start + dt.timedelta(seconds=i * 20 + rng.randrange(20))
                times = [first + dt.timedelta(hours=3 * k) for k in range(args.per_thread)]
                thread = Thread(
                    organization=org,
                    patient_id=patient_id,
                    category="medical",
                    started_by="patient",
                    created_at=times[0],
                    last_message_at=times[-1],
                )
                thread.seal("subject_ct", f"Question number {i}")
                threads.append(thread)
                plans.append(
                    (thread, patient_id, patient_user, clinician_id, clinician_user, times)
                )
            Thread.objects.bulk_create(threads)
            uuid_to_pk = dict(
                Thread.objects.filter(uuid__in=[t.uuid for t in threads]).values_list("uuid", "pk")
            )
            messages, recipients, members = [], [], []
            for thread, patient_id, patient_user, clinician_id, clinician_user, times in plans:
                thread.pk = uuid_to_pk[thread.uuid]
                for k, when in enumerate(times):
                    from_patient = k % 2 == 0
                    message = Message(
                        thread_id=thread.pk,
                        status="completed",
                        sender_kind="patient" if from_patient else "practitioner",
                        sender_patient_id=patient_id if from_patient else None,
                        sender_practitioner_id=None if from_patient else clinician_id,
                        author_id=patient_user if from_patient else clinician_user,
                        sent_at=when,
                        created_at=when,
                    )
                    message.identifier = f"msg-{message.uuid.hex}"
                    message.seal("body_ct", f"Message {k} of thread {thread.pk}")
                    messages.append(message)
                # The side that did not write the last message has it unread when it is
                # recent (the last two weeks of the data set) half of the time.
                patient_last = (args.per_thread - 1) % 2 == 0
                waiting = times[-1] >= recent_from and rng.random() < 0.5
                members.append(
                    ThreadMember(
                        thread_id=thread.pk,
                        user_id=patient_user,
                        side="patient",
                        last_message_at=times[-1],
                        unread=int(waiting and not patient_last),
                    )
                )
                members.append(
                    ThreadMember(
                        thread_id=thread.pk,
                        user_id=clinician_user,
                        side="practice",
                        last_message_at=times[-1],
                        unread=int(waiting and patient_last),
                    )
                )
            Message.objects.bulk_create(messages)
            by_uuid = dict(
                Message.objects.filter(uuid__in=[m.uuid for m in messages]).values_list(
                    "uuid", "pk"
                )
            )
            people = {p[0].pk: (p[1], p[3]) for p in plans}
            for m in messages:
                patient_id, clinician_id = people[m.thread_id]
                if m.sender_kind == "patient":
                    row = Recipient(
                        message_id=by_uuid[m.uuid],
                        kind="practitioner",
                        practitioner_id=clinician_id,
                    )
                else:
                    row = Recipient(
                        message_id=by_uuid[m.uuid], kind="patient", patient_id=patient_id
                    )
                recipients.append(row)
            Recipient.objects.bulk_create(recipients)
            ThreadMember.objects.bulk_create(members)
        t_index += count
        written += len(messages)
        if t_index % (20 * count) == 0 or t_index >= n_threads:
            elapsed = time.perf_counter() - began
            print(f"  {written:>9,} messages  {elapsed:6.1f} s", flush=True)
    print(f"messages: {Message.objects.count():,} in {Thread.objects.count():,} threads")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measure(args: argparse.Namespace, rng: random.Random) -> int:
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from carethread.accounts.models import User
    from carethread.api.actions import create_token
    from carethread.core.models import Patient, Practitioner
    from carethread.messaging import queries
    from carethread.messaging.access import viewer_for
    from carethread.messaging.models import ThreadMember

    clinician_rows = list(Practitioner.objects.values_list("pk", "user_id"))
    patients = list(Patient.objects.values_list("pk", "user_id"))

    def timed(fn, who: list[int]) -> list[float]:
        out = []
        for user_id in who:
            t0 = time.perf_counter()
            fn(user_id)
            out.append((time.perf_counter() - t0) * 1000)
        return out

    def inbox_query(user_id: int) -> None:
        user = User.objects.get(pk=user_id)
        rows = queries.inbox(viewer_for(user))
        assert rows, "every sampled user has threads"

    tokens = {}
    sample_clinicians = [rng.choice(clinician_rows)[1] for _ in range(args.samples)]
    sample_patients = [u for _, u in rng.sample(patients, min(args.samples, len(patients)))]
    sample_patients = [
        u for u in sample_patients if ThreadMember.objects.filter(user_id=u).exists()
    ]
    from allauth.mfa.models import Authenticator

    for user_id in set(sample_clinicians):
        if not Authenticator.objects.filter(user_id=user_id, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(User.objects.get(pk=user_id), generate_totp_secret())
    for user_id in set(sample_clinicians) | set(sample_patients):
        tokens[user_id] = create_token(User.objects.get(pk=user_id), "bench")[1]
    client = Client()

    def inbox_api(user_id: int) -> None:
        response = client.get("/api/threads", HTTP_AUTHORIZATION=f"Bearer {tokens[user_id]}")
        assert response.status_code == 200, response.status_code

    for label, fn in (("queries.inbox", inbox_query), ("GET /api/threads", inbox_api)):
        for who, sample in (("clinician", sample_clinicians), ("patient", sample_patients)):
            timed(fn, sample[:20])  # warm caches
            values = timed(fn, sample)
            print(
                f"{label:18} {who:9} n={len(values):4}  p50 {statistics.median(values):6.1f} ms"
                f"  p95 {percentile(values, 95):6.1f} ms  max {max(values):6.1f} ms"
            )
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        inbox_api(sample_clinicians[0])
    print(f"queries per GET /api/threads: {len(ctx.captured_queries)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
