"""A thread's version: every change a client can see (a message, a claim, a status, a note)
moves ``Thread.version`` on by one, in the same UPDATE as the change.

``bump_version`` is that UPDATE. With ``expected_version`` it is a compare-and-swap: the row
changes only while it still has the version the caller last saw (the API's ``If-Match``), and
the caller turns "nothing changed" into ``stale`` (or a more precise refusal).
"""

from __future__ import annotations

from django.db.models import F, Q

from carethread.messaging.models import Thread


def bump_version(
    thread: Thread,
    *,
    expected_version: int | None = None,
    where: Q | None = None,
    open_only: bool = False,
    **changes: object,
) -> bool:
    """One UPDATE of ``thread``'s row: ``changes`` and ``version + 1``, only when the row still
    has ``expected_version`` (when given), matches ``where`` (when given) and, with
    ``open_only``, is not closed. True when the row changed."""
    rows = Thread.objects.filter(pk=thread.pk)
    if where is not None:
        rows = rows.filter(where)
    if open_only:
        rows = rows.exclude(status=Thread.Status.CLOSED)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    return bool(rows.update(version=F("version") + 1, **changes))
