"""The PHI-free email of a notification: no names, no message subject, no message text."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from carethread.notifications.models import Notification

SUBJECT = "You have a new secure message"
GENERIC_PLACE = "your care team's secure portal"


def message_id(notification: Notification) -> str:
    """A stable Message-ID: the same notification always carries the same one."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">") or "carethread.localhost"
    return f"<notification-{notification.uuid}@{domain}>"


def sign_in_url() -> str:
    return settings.CARETHREAD_BASE_URL.rstrip("/") + "/accounts/login/"


def render(notification: Notification) -> EmailMessage:
    place = notification.practice_name or GENERIC_PLACE
    body = (
        "Hello,\n\n"
        f"A secure message is waiting for you at {place}.\n\n"
        f"Sign in to read it: {sign_in_url()}\n\n"
        "For your privacy this email does not include the message. "
        "You can turn these emails off in your portal settings.\n"
    )
    return EmailMessage(
        subject=SUBJECT,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        headers={"Message-ID": message_id(notification), "Auto-Submitted": "auto-generated"},
    )
