"""The messaging app's part in email notifications: "still wanted?" checks right before
sending, and the sender's name for recipients (and practices) that opted in.

``message.new`` (subject: the message's uuid) is skipped when the message was retracted, when
the recipient can no longer see its thread (the access gate's rule, evaluated now), or when the
recipient already read it (its read receipt is set, or their read position in the thread is at
or past it). ``thread.assigned`` (subject: the thread's uuid) is skipped when the recipient is no
longer the thread's assignee or can no longer see it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from carethread.messaging.access import may_see, viewer_for
from carethread.messaging.models import Message, Thread, ThreadMember
from carethread.notifications.actions import KIND_MESSAGE_NEW, KIND_THREAD_ASSIGNED
from carethread.notifications.checks import register_check
from carethread.notifications.senders import register_sender_name

if TYPE_CHECKING:
    from carethread.notifications.models import Notification


def _message(notification: Notification) -> Message | None:
    return Message.objects.select_related("thread").filter(uuid=notification.subject_id).first()


def message_check(notification: Notification) -> str | None:
    """Why a new-message notification is no longer wanted, or ``None``."""
    message = _message(notification)
    if message is None:
        return "subject_gone"
    if message.is_retracted or message.retracted_at is not None:
        return "retracted"
    recipient = notification.recipient
    if not may_see(viewer_for(recipient), message.thread):
        return "no_access"
    if message.first_read_at is not None:
        return "already_read"
    if message.sent_at is not None:
        read_past = ThreadMember.objects.filter(
            thread=message.thread, user=recipient, last_read_at__gte=message.sent_at
        ).exists()
        if read_past:
            return "already_read"
    return None


def assignment_check(notification: Notification) -> str | None:
    """Why a thread-assigned notification is no longer wanted, or ``None``."""
    thread = Thread.objects.select_related("assignee").filter(uuid=notification.subject_id).first()
    if thread is None:
        return "subject_gone"
    assignee = thread.assignee
    if assignee is None or assignee.user_id != notification.recipient_id:
        return "not_assignee"
    if not may_see(viewer_for(notification.recipient), thread):
        return "no_access"
    return None


def sender_name(notification: Notification) -> str | None:
    """The sender's name for a new-message email, only where the thread's practice allows it.

    The name of the person who wrote the message (a practitioner, possibly "on behalf of"
    a colleague; a patient; a representative under their own name); automatic messages name
    nobody."""
    from carethread.messaging.queries import sender_label

    message = (
        Message.objects.select_related(
            "thread__organization",
            "sender_patient",
            "sender_representative",
            "sender_practitioner",
            "on_behalf_of",
        )
        .filter(uuid=notification.subject_id)
        .first()
    )
    if message is None or not message.thread.organization.notify_sender_name:
        return None
    kind = message.sender_kind
    if kind == Message.SenderKind.REPRESENTATIVE and message.sender_representative is not None:
        return message.sender_representative.display_name
    if kind in (Message.SenderKind.PATIENT, Message.SenderKind.PRACTITIONER):
        return sender_label(message)
    return None


def register() -> None:
    """Register the checks and the sender-name resolver with the notifications app."""
    register_check(KIND_MESSAGE_NEW, message_check)
    register_check(KIND_THREAD_ASSIGNED, assignment_check)
    register_sender_name(KIND_MESSAGE_NEW, sender_name)
