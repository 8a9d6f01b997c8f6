"""Median answer time of the password-reset form for a known and for an unknown address.

    .venv/bin/python bench/password_reset_bench.py --rounds 400

A fresh SQLite database in a temporary folder (or DATABASE_URL: give it a scratch database), a
real SMTP server (aiosmtpd) on a free local port, one patient login; the form is posted in
alternation for the known and an unknown address (the rate limits are lifted for the run) and
the medians of the two are printed. The answers should not tell the two apart.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class _Sink:
    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        return "250 Message accepted for delivery"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="reset-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    os.environ.setdefault("CARETHREAD_VAR_DIR", workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carethread.settings")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ["CARETHREAD_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    import logging

    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from carethread.accounts.models import User

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": ""}
    User.objects.filter(email="known@example.com").delete()
    User.objects.create_user(email="known@example.com", password=secrets.token_urlsafe(16))
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    try:
        client = Client()
        for number in range(args.rounds * 2 + 20):
            label = "known" if number % 2 == 0 else "unknown"
            email = "known@example.com" if label == "known" else f"nobody{number}@example.com"
            started = time.perf_counter()
            response = client.post("/accounts/password/reset/", {"email": email})
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 302, response.status_code
            if number >= 20:  # warm-up
                times[label].append(elapsed)
    finally:
        controller.stop()
    for label, values in times.items():
        print(f"{label:8s} median {statistics.median(values):6.2f} ms  (n={len(values)})")
    gap = statistics.median(times["known"]) - statistics.median(times["unknown"])
    print(f"known - unknown: {gap:+.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
