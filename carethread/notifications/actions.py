"""Writes of the notifications app: recording notifications (with their delivery tasks) and
the users' preferences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, TypedDict

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from carethread.audit import codes
from carethread.audit.actions import record
from carethread.notifications import tasks
from carethread.notifications.models import (
    Notification,
    NotificationPreference,
    NotificationSettings,
)

if TYPE_CHECKING:
    from carethread.accounts.models import User

# A new secure message (subject: the message's uuid), sent by the messaging actions.
KIND_MESSAGE_NEW = "message.new"
# A thread was assigned to a practice user (subject: the thread's uuid), sent by triage.
KIND_THREAD_ASSIGNED = "thread.assigned"


def enqueue(
    kind: str,
    subject_id: uuid.UUID,
    recipients: Iterable[User | int],
    *,
    subject_type: str = "message",
    practice_name: str = "",
    return_ids: bool = True,
) -> list[int]:
    """Record one notification per recipient, with a delivery task, in the CALLER's
    transaction; idempotent.

    A (kind, subject_id, recipient) that already has a row is left alone, so enqueueing the
    same thing twice notifies nobody twice. New rows are due at once and share one queued
    ``deliver_subject`` task written in the same transaction: a rolled-back caller leaves
    neither a row nor a task, a committed one always leaves both. Returns the ids of the rows
    for these recipients, new or existing (``return_ids=False`` saves that query).
    """
    recipient_ids = sorted({r if isinstance(r, int) else r.pk for r in recipients})
    if not recipient_ids:
        return []
    now = timezone.now()
    # ON CONFLICT DO NOTHING cannot fail on a duplicate: no savepoint in a caller's transaction.
    in_caller = transaction.get_connection().in_atomic_block
    with nullcontext() if in_caller else transaction.atomic():
        # The task first, so that the new rows carry its id. Rows that existed already keep
        # theirs; a task that finds nothing pending ends at once.
        task_id = tasks.schedule_subject(kind, subject_id)
        Notification.objects.bulk_create(
            [
                Notification(
                    recipient_id=rid,
                    kind=kind,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    practice_name=practice_name[:200],
                    created_at=now,
                    next_attempt_at=now,
                    task_id=task_id,
                )
                for rid in recipient_ids
            ],
            ignore_conflicts=True,
        )
    if not return_ids:
        return []
    return sorted(
        Notification.objects.filter(
            kind=kind, subject_id=subject_id, recipient_id__in=recipient_ids
        ).values_list("id", flat=True)
    )


class Preferences(TypedDict):
    """A user's preferences: ``email`` on or off per kind they can receive, and whether the
    sender's name may appear in the email."""

    email: dict[str, bool]
    sender_name: bool


def kinds_for(user: User) -> list[str]:
    """The kinds of notification ``user`` can receive (what the preference pages list)."""
    # A login linked to a practitioner (a practice user) is also told of assignments.
    if hasattr(user, "practitioner"):
        return [KIND_MESSAGE_NEW, KIND_THREAD_ASSIGNED]
    return [KIND_MESSAGE_NEW]


def preferences(user: User) -> Preferences:
    """The preferences of ``user`` for the kinds they can receive."""
    kinds = kinds_for(user)
    off = set(
        NotificationPreference.objects.filter(
            user=user, kind__in=kinds, email_enabled=False
        ).values_list("kind", flat=True)
    )
    sender_name = NotificationSettings.objects.filter(user=user, sender_name=True).exists()
    return {"email": {kind: kind not in off for kind in kinds}, "sender_name": sender_name}


def set_preferences(
    user: User,
    *,
    email: Mapping[str, bool] | None = None,
    sender_name: bool | None = None,
    request: HttpRequest | None = None,
) -> Preferences:
    """Change ``user``'s email switches per kind and/or the sender-name opt-in, in one
    transaction with one audit entry naming what changed (codes only). Unknown kinds raise
    ``ValueError`` before anything is written. Returns the preferences after the change."""
    email = dict(email or {})
    allowed = set(kinds_for(user))
    unknown = [kind for kind in email if kind not in allowed]
    if unknown:
        raise ValueError("unknown notification kind")
    if any(not isinstance(v, bool) for v in email.values()) or not isinstance(
        sender_name, bool | None
    ):
        raise ValueError("preferences are on or off")
    now = timezone.now()
    with transaction.atomic():
        before = preferences(user)
        switched: dict[str, str] = {}
        for kind, enabled in sorted(email.items()):
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"email_enabled": enabled, "updated_at": now}
            )
            if before["email"].get(kind, True) != enabled:
                switched[kind] = "on" if enabled else "off"
        changed: dict[str, object] = {"email": switched} if switched else {}
        if sender_name is not None:
            NotificationSettings.objects.update_or_create(
                user=user, defaults={"sender_name": sender_name, "updated_at": now}
            )
            if before["sender_name"] != sender_name:
                changed["sender_name"] = "on" if sender_name else "off"
        if changed:
            record(
                codes.NOTIFICATION_PREFERENCE_CHANGED,
                actor=user,
                request=request,
                obj=user,
                details=changed,
            )
        after = preferences(user)
    return after


def set_email_preference(user: User, kind: str, *, enabled: bool) -> NotificationPreference:
    """Turn email notifications of ``kind`` on or off for ``user`` (any kind; audited)."""
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"email_enabled": enabled, "updated_at": timezone.now()}
        )
        record(
            codes.NOTIFICATION_PREFERENCE_CHANGED,
            actor=user,
            obj=user,
            details={"email": {kind: "on" if enabled else "off"}},
        )
    return pref
