"""Per-kind "still wanted?" checks, run right before a notification is sent.

An app registers a check for its kinds, e.g. the messaging app for ``message.new``::

    register_check("message.new", lambda n: "already_read" if is_read(n) else None)

A check gets the ``Notification`` and returns ``None`` (still wanted) or a short reason code
(no PHI), which becomes the row's ``last_error_code`` when it is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from carethread.notifications.models import Notification

Check = Callable[["Notification"], str | None]

_CHECKS: dict[str, list[Check]] = {}


def register_check(kind: str, check: Check) -> None:
    registered = _CHECKS.setdefault(kind, [])
    if check not in registered:
        registered.append(check)


def unregister_check(kind: str, check: Check) -> None:
    if check in _CHECKS.get(kind, []):
        _CHECKS[kind].remove(check)


def skip_reason(notification: Notification) -> str | None:
    """Why this notification must not be sent now, or ``None``. Common checks run first."""
    from carethread.notifications.models import NotificationPreference

    user = notification.recipient
    if not user.is_active:
        return "recipient_inactive"
    if user.blocked_at is not None:
        return "recipient_blocked"
    if not user.email:
        return "no_address"
    opted_out = NotificationPreference.objects.filter(
        user=user, kind=notification.kind, email_enabled=False
    ).exists()
    if opted_out:
        return "opted_out"
    for check in list(_CHECKS.get(notification.kind, [])):
        reason = check(notification)
        if reason:
            return reason
    return None
