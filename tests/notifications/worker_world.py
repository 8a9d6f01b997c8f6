"""Run as a script by the killed-worker test, on its own migrated database: build the practice
world, have a clinician write to a patient (who has a representative) — once, or as many times
as the first argument says — and print as JSON the notifications those messages recorded
(id: recipient's address)."""

from __future__ import annotations

import json
import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "worker_settings")
    django.setup()
    from support.world import build_world

    from carethread.messaging import actions
    from carethread.notifications.models import Notification

    world = build_world()
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    uuids = [
        actions.start_thread(
            world.c1.user,
            patient=world.patient,
            category="medical",
            subject="Your results",
            body="Your results are in.",
        ).uuid
        for _ in range(count)
    ]
    rows = Notification.objects.filter(subject_id__in=uuids).select_related("recipient")
    print(json.dumps({str(n.id): n.recipient.email for n in rows}))


if __name__ == "__main__":
    main()
