"""The PHI-free email of a notification: no names, no message subject, no message text.

The one exception is the sender's display name, and only when ``sender_name`` is given, which
``senders.sender_name`` does only where the practice and the recipient both opted in. The
subject line never names anyone.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

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

# Kinds whose body is a template of their own (given ``place`` and ``representatives_url``).
# ``proxy.access_granted`` (subject: the invitation's uuid) tells a patient that a representative
# enrolled, and where to see who can read their messages and end that access; it names nobody.
BODY_TEMPLATES = {
    "proxy.access_granted": (
        "Someone was given access to your secure messages",
        "notifications/email/proxy_access_granted.txt",
    ),
}


def message_id(notification: Notification) -> str:
    """The notification's Message-ID: the one stored on its row (written when its email was
    first built, reused by every retry), else one made from its uuid."""
    if notification.message_id:
        return notification.message_id
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "carethread.localhost"
    return f"<notification-{notification.uuid}@{domain}>"


def sign_in_url() -> str:
    return settings.CARETHREAD_BASE_URL.rstrip("/") + "/accounts/login/"


def preferences_url() -> str:
    return settings.CARETHREAD_BASE_URL.rstrip("/") + "/account/notifications"


def clean_name(name: str) -> str:
    """One line of printable text, at most ``MAX_NAME`` characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())[:MAX_NAME]


def representatives_url() -> str:
    return settings.CARETHREAD_BASE_URL.rstrip("/") + "/account/representatives"


def render(notification: Notification, *, sender_name: str | None = None) -> EmailMessage:
    place = notification.practice_name or GENERIC_PLACE
    if notification.kind in BODY_TEMPLATES:
        subject, template = BODY_TEMPLATES[notification.kind]
        context = {"place": place, "representatives_url": representatives_url()}
        body = str(render_to_string(template, context))
    else:
        subject, sentence = TEXTS.get(notification.kind, FALLBACK)
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
