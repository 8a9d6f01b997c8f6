"""Writes of the notifications app: recording notifications and email preferences."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from carethread.audit.actions import record
from carethread.notifications.models import Notification, NotificationPreference

KIND_MESSAGE_NEW = "message.new"
PREFERENCE_CHANGED = "notification.preference_changed"


def enqueue(
    kind: str,
    subject_id: uuid.UUID,
    recipients: Iterable[Any],
    *,
    subject_type: str = "message",
    practice_name: str = "",
) -> list[int]:
    """Record one notification per recipient in the CALLER's transaction; idempotent.

    A (kind, subject_id, recipient) that already has a row is left alone, so enqueueing the
    same thing twice notifies nobody twice. The rows are due at once. Returns the ids of the
    rows for these recipients, new or existing.

    Nothing is scheduled on commit: the committed row is itself the durable queue entry, and the
    worker delivers due rows within its polling interval. A rolled-back caller leaves no row.
    """
    recipient_ids = sorted({getattr(r, "pk", r) for r in recipients})
    if not recipient_ids:
        return []
    now = timezone.now()
    with transaction.atomic():
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
                )
                for rid in recipient_ids
            ],
            ignore_conflicts=True,
        )
        ids = list(
            Notification.objects.filter(
                kind=kind, subject_id=subject_id, recipient_id__in=recipient_ids
            ).values_list("id", flat=True)
        )
    return ids


def set_email_preference(user: Any, kind: str, *, enabled: bool) -> NotificationPreference:
    """Turn email notifications of ``kind`` on or off for ``user``."""
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"email_enabled": enabled, "updated_at": timezone.now()}
        )
        record(
            PREFERENCE_CHANGED,
            actor=user,
            obj=pref,
            details={"kind": kind, "email": "on" if enabled else "off"},
        )
    return pref
