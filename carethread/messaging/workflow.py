"""The practice's triage workflow on a thread: claim, assign, status, internal notes.

Each action runs in one transaction, bumps ``Thread.version`` and ends with its audit entry
(codes and UUIDs only). Callers pass a thread that went through the access gate; the actions
check again that the caller is a practice user who may see it (``not_allowed`` otherwise).

``expected_version`` is the version the caller last saw (the API's ``If-Match``): when the
thread has changed since, the action refuses with ``stale`` and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import Membership, Practitioner
from carethread.messaging import triage
from carethread.messaging.access import Viewer, on_practice_side, viewer_for
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Note, Thread
from carethread.messaging.versions import bump_version
from carethread.notifications import actions as notifications

if TYPE_CHECKING:
    from carethread.accounts.models import User

KIND_THREAD_ASSIGNED = notifications.KIND_THREAD_ASSIGNED
MAX_NOTE = 10_000


def practice_viewer(user: User, thread: Thread, viewer: Viewer | None = None) -> Viewer:
    """The caller's ``Viewer`` when they act for the practice in ``thread``, else refused."""
    viewer = viewer or viewer_for(user)
    if not on_practice_side(viewer, thread):
        raise MessagingError("not_allowed")
    return viewer


def _refresh(thread: Thread) -> Thread:
    thread.refresh_from_db(
        fields=[
            "status",
            "assignee",
            "version",
            "closed_at",
            "awaiting_reply_since",
            "reply_due_at",
            "last_message_at",
        ]
    )
    return thread


def _locked(thread: Thread, expected_version: int | None) -> Thread:
    """The thread's current row, locked for the transaction; ``stale`` on a version mismatch."""
    current = Thread.objects.select_for_update().get(pk=thread.pk)
    if expected_version is not None and current.version != expected_version:
        raise MessagingError("stale")
    return current


def claim(
    user: User,
    thread: Thread,
    *,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
    viewer: Viewer | None = None,
) -> Thread:
    """The caller becomes the assignee, when nobody is assigned.

    One conditional UPDATE decides: of two simultaneous claims exactly one changes the row,
    the other finds it assigned and gets ``already_claimed``. Claiming a thread one already
    holds changes nothing."""
    viewer = practice_viewer(user, thread, viewer)
    me = viewer.practitioner
    assert me is not None
    with transaction.atomic():
        changed = bump_version(
            thread, expected_version=expected_version, where=Q(assignee__isnull=True), assignee=me
        )
        if not changed:
            current = Thread.objects.get(pk=thread.pk)
            if current.assignee_id == me.pk:
                return _refresh(thread)
            if current.assignee_id is not None:
                raise MessagingError("already_claimed")
            raise MessagingError("stale")
        triage.join(thread, user.pk, when=timezone.now())
        _changed(codes.THREAD_CLAIM, user, thread, {"assignee": str(me.uuid)}, request)
    return thread


def _changed(
    code: str,
    user: User,
    thread: Thread,
    details: dict[str, str | None],
    request: HttpRequest | None,
) -> None:
    """After a change of ``thread``: reload what may have changed and record ``code`` with
    ``details`` and the thread's new version."""
    _refresh(thread)
    audit.record(
        code,
        actor=user,
        request=request,
        patient=thread.patient_id,
        obj=thread,
        details={**details, "version": thread.version},
    )


def _check_assignee(thread: Thread, assignee: Practitioner) -> None:
    user = assignee.user if assignee.user_id is not None else None
    ok = (
        assignee.active
        and user is not None
        and user.is_active
        and getattr(user, "blocked_at", None) is None
        and Membership.objects.filter(
            practitioner=assignee, organization_id=thread.organization_id, active=True
        ).exists()
    )
    if not ok:
        raise MessagingError("bad_assignee")


def assign(
    user: User,
    thread: Thread,
    assignee: Practitioner | None,
    *,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
    viewer: Viewer | None = None,
) -> Thread:
    """Assign the thread to ``assignee`` (an active practice user of the thread's practice),
    reassign it, or unassign it (``None``). The new assignee gets a place in the thread and a
    notification (none when they assign themselves)."""
    practice_viewer(user, thread, viewer)
    if assignee is not None:
        _check_assignee(thread, assignee)
    with transaction.atomic():
        current = _locked(thread, expected_version)
        previous_id = current.assignee_id
        new_id = assignee.pk if assignee is not None else None
        if previous_id == new_id:
            return _refresh(thread)
        previous = Practitioner.objects.filter(pk=previous_id).first() if previous_id else None
        bump_version(thread, assignee=assignee)
        if assignee is not None and assignee.user_id is not None:
            triage.join(thread, assignee.user_id, when=timezone.now())
            if assignee.user_id != user.pk:
                notifications.enqueue(
                    KIND_THREAD_ASSIGNED,
                    thread.uuid,
                    [assignee.user_id],
                    subject_type="thread",
                    practice_name=thread.organization.name,
                )
        who = {
            "assignee": str(assignee.uuid) if assignee is not None else None,
            "previous": str(previous.uuid) if previous is not None else None,
        }
        _changed(codes.THREAD_ASSIGN, user, thread, who, request)
    return thread


def set_status(
    user: User,
    thread: Thread,
    status: str,
    *,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
    viewer: Viewer | None = None,
) -> Thread:
    """Mark the thread ``open`` (reopen), ``done`` or ``closed``.

    ``closed_at`` is set when it closes and cleared when it reopens. Done and closed threads
    no longer wait for an answer: their ``awaiting_reply_since`` / ``reply_due_at`` are cleared
    (a new patient message sets them again)."""
    if status not in Thread.Status.values:
        raise MessagingError("bad_status")
    practice_viewer(user, thread, viewer)
    with transaction.atomic():
        current = _locked(thread, expected_version)
        previous = current.status
        if previous == status:
            return _refresh(thread)
        changes: dict[str, Any] = {"status": status}
        if status == Thread.Status.CLOSED:
            changes["closed_at"] = timezone.now()
        else:
            changes["closed_at"] = None
        if status in (Thread.Status.DONE, Thread.Status.CLOSED):
            changes["awaiting_reply_since"] = None
            changes["reply_due_at"] = None
        bump_version(thread, **changes)
        _changed(codes.THREAD_STATUS, user, thread, {"from": previous, "to": status}, request)
    return thread


def add_note(
    user: User,
    thread: Thread,
    body: str,
    *,
    request: HttpRequest | None = None,
    viewer: Viewer | None = None,
) -> Note:
    """An internal note on the thread, for practice users only (encrypted like messages)."""
    viewer = practice_viewer(user, thread, viewer)
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise MessagingError("empty_body")
    if len(text) > MAX_NOTE:
        raise MessagingError("too_long")
    assert viewer.practitioner is not None
    with transaction.atomic():
        note = Note(thread=thread, author=viewer.practitioner, created_at=timezone.now())
        note.seal("body_ct", text)
        note.save(force_insert=True)
        bump_version(thread)
        _changed(codes.THREAD_NOTE, user, thread, {"note": str(note.uuid)}, request)
    return note
