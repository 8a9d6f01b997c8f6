"""The PHI-free email of a notification: no names, no message subject, no message text.

The one exception is the sender's display name, and only when ``sender_name`` is given, which
``senders.sender_name`` does only where the practice and the recipient both opted in. The
subject line never names anyone.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from carethread.notifications.models import Notification

SUBJECT = "You have a new secure message"
GENERIC_PLACE = "your care team's secure portal"
MAX_NAME = 100

# kind -> (subject, what happened, with {place} and {sender})
TEXTS = {
    "message.new": (SUBJECT, "A secure message{sender} is waiting for you at {place}."),
    "thread.assigned": (
        "A conversation was assigned to you",
        "A secure conversation at {place} was assigned to you.",
    ),
}
FALLBACK = ("You have a new notification", "Something new is waiting for you at {place}.")


def message_id(notification: Notification) -> str:
    """A stable Message-ID: the same notification always carries the same one."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "carethread.localhost"
    return f"<notification-{notification.uuid}@{domain}>"


def sign_in_url() -> str:
    return settings.CARETHREAD_BASE_URL.rstrip("/") + "/accounts/login/"


def preferences_url() -> str:
    return settings.CARETHREAD_BASE_URL.rstrip("/") + "/account/notifications"


def clean_name(name: str) -> str:
    """One line of printable text, at most ``MAX_NAME`` characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())[:MAX_NAME]


def render(notification: Notification, *, sender_name: str | None = None) -> EmailMessage:
    subject, sentence = TEXTS.get(notification.kind, FALLBACK)
    place = notification.practice_name or GENERIC_PLACE
    name = clean_name(sender_name or "")
    line = sentence.format(place=place, sender=f" from {name}" if name else "")
    body = (
        "Hello,\n\n"
        f"{line}\n\n"
        f"Sign in to read it: {sign_in_url()}\n\n"
        "For your privacy this email does not include the message.\n"
        f"Choose which emails you get: {preferences_url()}\n"
    )
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification), "Auto-Submitted": "auto-generated"},
    )
