"""The delivery tasks on Django's tasks API (database queue), and queueing them.

A task carries ids and codes only: ``deliver_subject`` the kind and subject of newly
recorded notifications (one task for all recipients of a new message), ``deliver_notification``
one notification's id (retries and re-armed rows). A task is queued in the same transaction
that writes or re-arms the ``Notification`` row (the database backend inserts its task row
through the ORM, on the caller's connection), so a committed pending notification always has a
queued task, and a rolled-back one has neither. Running a task twice, or two tasks for one row,
is harmless: the claim in ``delivery.deliver`` lets one of them through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django_tasks import task

from carethread.notifications.models import Notification

QUEUE = "notifications"


@task(queue_name=QUEUE)
def deliver_notification(notification_id: int) -> str:
    """Deliver one notification; returns the state it ended in, or "taken" when another
    task or worker had it (or it was not due)."""
    from carethread.notifications.delivery import deliver

    return deliver(notification_id) or "taken"


@task(queue_name=QUEUE)
def deliver_subject(kind: str, subject_id: str) -> list[str]:
    """Deliver the pending notifications of one subject (e.g. every recipient of a new
    message); returns the state each ended in ("taken" when another worker had it)."""
    from carethread.notifications.delivery import deliver

    pending = (
        Notification.objects.filter(
            kind=kind, subject_id=subject_id, state=Notification.State.PENDING
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    return [deliver(notification_id) or "taken" for notification_id in pending]


def schedule_subject(kind: str, subject_id: object) -> str:
    """Queue ``deliver_subject`` for a subject; returns the task's id."""
    return str(deliver_subject.enqueue(kind, str(subject_id)).id)


def schedule(notification_ids: Iterable[int], *, run_after: dt.datetime | None = None) -> None:
    """Queue one delivery task per notification (due at ``run_after``, else at once) and note
    each task's id on its row. Runs in the caller's transaction."""
    queued = (
        deliver_notification
        if run_after is None
        else deliver_notification.using(run_after=run_after)
    )
    rows = []
    for notification_id in notification_ids:
        result = queued.enqueue(notification_id)
        rows.append(Notification(id=notification_id, task_id=result.id))
    if rows:
        Notification.objects.bulk_update(rows, ["task_id"])
