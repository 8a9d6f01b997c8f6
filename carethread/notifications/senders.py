"""Naming the sender in a notification: only with the practice's AND the recipient's opt-in.

Nothing about the sender is stored on the ``Notification`` row; the name is looked up at send
time by the app that owns the subject, which registers a resolver for its kind::

    register_sender_name("message.new", resolve)  # resolve(notification) -> str | None

The recipient's opt-in (``NotificationSettings.sender_name``, default off) is checked here,
first; the resolver returns ``None`` unless the practice allows names
(``Organization.notify_sender_name``, default off) and it can name the sender.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from carethread.notifications.models import Notification

Resolver = Callable[["Notification"], str | None]

_RESOLVERS: dict[str, Resolver] = {}


def register_sender_name(kind: str, resolver: Resolver) -> None:
    _RESOLVERS[kind] = resolver


def sender_name(notification: Notification) -> str | None:
    """The sender's display name for this email, or ``None`` (the email names nobody)."""
    from carethread.notifications.models import NotificationSettings

    resolver = _RESOLVERS.get(notification.kind)
    if resolver is None:
        return None
    opted_in = NotificationSettings.objects.filter(
        user_id=notification.recipient_id, sender_name=True
    ).exists()
    if not opted_in:
        return None
    return resolver(notification) or None
