"""Run as a script by the killed-worker test, on its own migrated database: build the practice
world, have a clinician write to a patient (who has a representative), and print as JSON the
notifications that message recorded."""

from __future__ import annotations

import json
import os

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "worker_settings")
    django.setup()
    from support.world import build_world

    from carethread.messaging import actions
    from carethread.notifications.models import Notification

    world = build_world()
    message = actions.start_thread(
        world.c1.user,
        patient=world.patient,
        category="medical",
        subject="Your results",
        body="Your results are in.",
    )
    rows = Notification.objects.filter(subject_id=message.uuid).select_related("recipient")
    print(json.dumps({str(n.id): n.recipient.email for n in rows}))


if __name__ == "__main__":
    main()
