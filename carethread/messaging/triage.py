"""Triage hooks called by the sending actions, inside their transaction: routing rules,
automatic acknowledgements and out-of-office replies.

Automatic messages are ``system`` messages without an author: they never clear the thread's
"awaiting reply" state (only a practitioner's message does) and never count as a practice
answer (the measure engine counts practitioners' messages only). The sender is already on the
page, so they notify nobody by email.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import CareTeamPool, Membership, Organization, Practitioner
from carethread.messaging import posting, templates
from carethread.messaging.models import (
    Message,
    OutOfOffice,
    Recipient,
    RoutingRule,
    Side,
    Thread,
    ThreadMember,
)
from carethread.messaging.outgoing import Outgoing, Sender
from carethread.messaging.versions import bump_version
from carethread.notifications import actions as notifications

# The idempotency keys (``Message.client_key``) of automatic messages, per thread.
ACK_KEY = "auto-ack"
ABSENCE_KEY = "auto-ooo-{}"

EMERGENCY = "Secure messaging is not for emergencies: if this is an emergency, call 911."


def route_pool(organization: Organization, category: str) -> CareTeamPool | None:
    """The pool a new patient thread of ``category`` goes to, by the routing rules."""
    rule = (
        RoutingRule.objects.filter(organization=organization, category=category, pool__active=True)
        .select_related("pool")
        .first()
    )
    return rule.pool if rule is not None else None


def after_patient_message(thread: Thread, message: Message, *, new_thread: bool) -> None:
    """Run inside the sending transaction after a patient-side message was posted."""
    now = timezone.now()
    if (
        new_thread
        and thread.started_by in (Side.PATIENT, Side.REPRESENTATIVE)
        and thread.organization.auto_acknowledge
    ):
        acknowledge(thread, message, now=now)
    for absence in active_absences(message, now):
        out_of_office_reply(thread, message, absence, now=now)


# -- acknowledgement --------------------------------------------------------------------------


def acknowledgement_text(thread: Thread) -> str:
    org = thread.organization
    pool = thread.pool if thread.pool_id else None
    when = templates.expected_response(templates.response_hours(org, pool))
    return f"We received your message. {org.name} usually answers {when}.\n\n{EMERGENCY}"


def acknowledge(thread: Thread, message: Message, *, now: dt.datetime) -> Message | None:
    """Post the automatic acknowledgement of a new patient thread (once per thread)."""
    if _automatic_sent(thread, ACK_KEY):
        return None
    return _post_automatic(thread, message, acknowledgement_text(thread), ACK_KEY)


# -- out of office ----------------------------------------------------------------------------


def active_absences(message: Message, now: dt.datetime) -> list[OutOfOffice]:
    """Current absences of the practitioners ``message`` is addressed to."""
    addressed = Recipient.objects.filter(message=message, kind=Recipient.Kind.PRACTITIONER)
    return list(
        OutOfOffice.objects.filter(
            practitioner_id__in=addressed.values("practitioner_id"),
            starts_at__lte=now,
            ends_at__gt=now,
        )
        .select_related("practitioner", "delegate")
        .order_by("starts_at", "pk")
    )


def absence_text(absence: OutOfOffice, delegate: Practitioner | None) -> str:
    if absence.reply_text.strip():
        text = absence.reply_text.strip()
    else:
        until = timezone.localtime(absence.ends_at)
        text = (
            f"{absence.practitioner.display_name} is out of the office until "
            f"{until:%B} {until.day}, {until.year}."
        )
        if delegate is not None:
            text += f" {delegate.display_name} is looking after your message meanwhile."
        else:
            text += " Your message will be answered by the care team."
    return f"{text}\n\n{EMERGENCY}"


def out_of_office_reply(
    thread: Thread, message: Message, absence: OutOfOffice, *, now: dt.datetime
) -> Message | None:
    """The absence's automatic reply (at most once per thread and absence), and the hand-over
    to its delegate: a place in the thread, the assignment when nobody has it, a notification."""
    key = ABSENCE_KEY.format(absence.uuid.hex)
    if _automatic_sent(thread, key):
        return None
    delegate = _usable_delegate(absence, thread)
    if delegate is not None:
        _hand_over(thread, message, delegate)
    return _post_automatic(thread, message, absence_text(absence, delegate), key)


def _usable_delegate(absence: OutOfOffice, thread: Thread) -> Practitioner | None:
    delegate = absence.delegate
    if delegate is None or not delegate.active or delegate.user_id is None:
        return None
    if delegate.pk == absence.practitioner_id:
        return None
    member = Membership.objects.filter(
        practitioner=delegate, organization_id=thread.organization_id, active=True
    ).exists()
    return delegate if member else None


def _hand_over(thread: Thread, message: Message, delegate: Practitioner) -> None:
    assert delegate.user_id is not None
    join(thread, delegate.user_id, when=message.sent_at or timezone.now())
    assigned = bump_version(thread, where=Q(assignee__isnull=True), assignee=delegate)
    notifications.enqueue(
        notifications.KIND_MESSAGE_NEW,
        message.uuid,
        [delegate.user_id],
        practice_name=thread.organization.name,
    )
    if assigned:
        thread.refresh_from_db(fields=["assignee", "version"])
        audit.record(
            codes.THREAD_ASSIGN,
            actor=None,
            actor_role="system",
            patient=thread.patient_id,
            obj=thread,
            details={
                "assignee": str(delegate.uuid),
                "previous": None,
                "reason": "out_of_office",
            },
        )


# -- shared -----------------------------------------------------------------------------------


def join(thread: Thread, user_id: int, *, when: dt.datetime) -> bool:
    """Give a practice login its place (inbox row) in ``thread``; True when it is new.

    A new row starts with the thread's messages not written by that login unread (automatic
    messages are not practice work and do not count)."""
    if ThreadMember.objects.filter(thread=thread, user_id=user_id).exists():
        return False
    unread = (
        Message.objects.filter(thread=thread, status=Message.Status.COMPLETED, is_automatic=False)
        .exclude(author_id=user_id)
        .count()
    )
    ThreadMember.objects.bulk_create(
        [
            ThreadMember(
                thread=thread,
                user_id=user_id,
                side=Side.PRACTICE,
                unread=unread,
                last_message_at=thread.last_message_at or when,
            )
        ],
        ignore_conflicts=True,
    )
    return True


def _automatic_sent(thread: Thread, key: str) -> bool:
    return Message.objects.filter(
        thread=thread, author__isnull=True, is_automatic=True, client_key=key
    ).exists()


def _post_automatic(thread: Thread, answering: Message, body: str, key: str) -> Message:
    addressees, _users = posting.patient_side_addressees(thread, thread.patient, timezone.now())
    automatic = Outgoing(
        sender=Sender.system(),
        body=body,
        addressees=addressees,
        in_response_to=answering,
        is_automatic=True,
        client_key=key,
    )
    return posting.post_message(thread, automatic)
