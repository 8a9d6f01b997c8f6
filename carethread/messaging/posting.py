"""Writing one message: the checks every sending action shares and ``post_message``, the one
place a message, its recipients, inbox rows, notifications and audit entry are written.

The actions that decide who may write what (``actions.py``, ``triage.py``, ``outreach.py``) call
these inside their transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.http import HttpRequest
from django.utils import timezone

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import CareTeamPool, Membership, Organization, Patient, Practitioner
from carethread.messaging import rules
from carethread.messaging.access import Viewer
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import (
    Attachment,
    Category,
    Message,
    Recipient,
    Side,
    Thread,
    ThreadMember,
)
from carethread.messaging.outgoing import Addressees, Outgoing, Sender
from carethread.messaging.versions import bump_version
from carethread.notifications import actions as notifications

if TYPE_CHECKING:
    from carethread.accounts.models import User
    from carethread.core.json import JsonObject, JsonValue

MAX_SUBJECT = 200
MAX_BODY = 20_000
READING_KINDS = {
    "blood-pressure": ("systolic", "diastolic"),
    "blood-glucose": ("value",),
    "weight": ("value",),
}


# -- checks shared by the sending actions ------------------------------------------------------


def clean_text(value: str | None, *, limit: int, code: str = "empty_body") -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if not text:
        raise MessagingError(code)
    if len(text) > limit:
        raise MessagingError("too_long")
    return text


def clean_category(value: str) -> str:
    if value not in Category.values:
        raise MessagingError("bad_category")
    return value


def clean_readings(readings: Sequence[JsonObject] | None) -> str | None:
    """Home readings as canonical JSON: [{"kind": "blood-pressure", "systolic": 120, ...}]."""
    if not readings:
        return None
    if not isinstance(readings, list | tuple) or len(readings) > 10:
        raise MessagingError("bad_readings")
    cleaned = []
    for item in readings:
        if not isinstance(item, dict) or item.get("kind") not in READING_KINDS:
            raise MessagingError("bad_readings")
        kind = item["kind"]
        row: dict[str, JsonValue] = {"kind": kind}
        for name in READING_KINDS[kind]:
            value = item.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise MessagingError("bad_readings")
            if not 0 < value < 10_000:
                raise MessagingError("bad_readings")
            row[name] = value
        unit = item.get("unit", "")
        if not isinstance(unit, str) or len(unit) > 16:
            raise MessagingError("bad_readings")
        row["unit"] = unit
        taken = item.get("taken_at", "")
        if taken:
            try:
                dt.datetime.fromisoformat(str(taken))
            except ValueError:
                raise MessagingError("bad_readings") from None
            row["taken_at"] = str(taken)
        cleaned.append(row)
    return json.dumps(cleaned, sort_keys=True)


def check_rate(user: User, now: dt.datetime) -> None:
    limit = settings.CARETHREAD_SEND_RATE_PER_HOUR
    recent = Message.objects.filter(
        author=user, created_at__gte=now - dt.timedelta(hours=1)
    ).count()
    if recent >= limit:
        raise MessagingError("rate_limited")


def replayed(user: User | None, client_key: str | None) -> Message | None:
    """The message this user already sent with ``client_key`` (an idempotent retry)."""
    if not client_key:
        return None
    message = Message.objects.filter(author=user, client_key=client_key[:64]).first()
    if message is not None:
        message.replayed = True  # type: ignore[attr-defined]
    return message


def practice_organization(
    viewer: Viewer, patient: Patient, organization: Organization | None
) -> Organization:
    """The organisation a practice user writes to ``patient`` from."""
    if organization is not None:
        if organization.pk not in viewer.memberships:
            raise MessagingError("not_allowed")
        if not rules.is_patient_of(patient, organization):
            raise MessagingError("patient_not_allowed")
        return organization
    candidates = [
        org
        for org in Organization.objects.filter(pk__in=list(viewer.memberships))
        if rules.is_patient_of(patient, org)
    ]
    if not candidates:
        raise MessagingError("patient_not_allowed")
    if len(candidates) > 1:
        raise MessagingError("organization_required")
    return candidates[0]


def check_on_behalf(
    viewer: Viewer, organization: Organization, on_behalf_of: Practitioner | None
) -> None:
    if on_behalf_of is None:
        return
    if viewer.practitioner is None or on_behalf_of.pk == viewer.practitioner.pk:
        raise MessagingError("on_behalf_not_allowed")
    ok = Membership.objects.filter(
        practitioner=on_behalf_of,
        organization=organization,
        role=Membership.Role.CLINICIAN,
        active=True,
        practitioner__active=True,
    ).exists()
    if not ok:
        raise MessagingError("on_behalf_not_allowed")


def patient_side_addressees(
    thread: Thread, patient: Patient, when: dt.datetime
) -> tuple[Addressees, list[User]]:
    """The patient and valid representatives (unless private), and their logins that may
    read the thread (blocked or inactive logins left out)."""
    reps = [] if thread.private_from_representatives else rules.valid_representatives(patient, when)
    users = [patient.user] if patient.user is not None else []
    users += [rep.user for rep in reps if rep.user is not None]
    users = [u for u in users if u.is_active and u.blocked_at is None]
    return Addressees(patients=[patient], representatives=reps), users


def practice_users_of(practitioners: Iterable[Practitioner], pools: Iterable[CareTeamPool]) -> list:
    users: set[int] = {p.user_id for p in practitioners if p.user_id and p.active}
    for pool in pools:
        users.update(
            pool.members.filter(active=True, user__isnull=False).values_list("user_id", flat=True)
        )
    from django.contrib.auth import get_user_model

    return list(
        get_user_model().objects.filter(pk__in=list(users), is_active=True, blocked_at__isnull=True)
    )


# -- the one place a message is written ---------------------------------------------------------


def post_message(
    thread: Thread,
    outgoing: Outgoing,
    *,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Message:
    """Write one message with its recipients, attachments, inbox rows, notifications and
    audit entry. Runs in the caller's transaction (callers hold ``transaction.atomic``).

    ``expected_version`` (the version the caller last saw) refuses with ``stale`` when the
    thread changed meanwhile; a closed thread refuses with ``thread_closed``. Either rolls back
    everything written so far."""
    now = now or timezone.now()
    message = _new_message(thread, outgoing, now)
    winner = _insert(message, outgoing)
    if winner is not None:
        return winner
    recipients = outgoing.addressees.recipient_rows(message)
    Recipient.objects.bulk_create(recipients)
    _link_attachments(message, outgoing)
    advance_thread(thread, outgoing.sender, now=now, expected_version=expected_version)
    _fan_out(thread, message, outgoing, now=now)
    _audit(thread, message, outgoing, recipients=len(recipients), request=request)
    return message


def _new_message(thread: Thread, outgoing: Outgoing, now: dt.datetime) -> Message:
    sender, key = outgoing.sender, outgoing.client_key
    message = Message(
        thread=thread,
        in_response_to=outgoing.in_response_to,
        status=Message.Status.COMPLETED,
        sender_kind=sender.kind,
        sender_patient=sender.patient,
        sender_representative=sender.representative,
        sender_practitioner=sender.practitioner,
        on_behalf_of=sender.on_behalf_of,
        author=sender.author,
        is_automatic=outgoing.is_automatic,
        sent_at=now,
        created_at=now,
        client_key=key[:64] if key else None,
    )
    message.identifier = f"msg-{message.uuid.hex}"
    message.seal("body_ct", outgoing.body)
    if outgoing.readings_json:
        message.seal("readings_ct", outgoing.readings_json)
    return message


def _insert(message: Message, outgoing: Outgoing) -> Message | None:
    """Insert ``message``; ``None`` when written, else the message a concurrent retry with the
    same ``client_key`` already wrote (it won the unique race: answer with it)."""
    if not outgoing.client_key:
        message.save(force_insert=True)
        return None
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        existing = replayed(outgoing.sender.author, outgoing.client_key)
        if existing is None:
            raise
        return existing
    return None


def _link_attachments(message: Message, outgoing: Outgoing) -> None:
    """Attach the sender's own unattached uploads; any other identifier refuses the send."""
    ids = outgoing.attachment_ids
    message.attached = len(ids)  # type: ignore[attr-defined]
    if not ids:
        return
    if len(ids) > settings.CARETHREAD_ATTACHMENT_MAX_COUNT:
        raise MessagingError("too_many_attachments")
    linked = Attachment.objects.filter(
        uuid__in=list(ids), uploaded_by=outgoing.sender.author, message__isnull=True
    ).update(message=message)
    if linked != len(set(ids)):
        raise MessagingError("bad_attachment")


def advance_thread(
    thread: Thread, sender: Sender, *, now: dt.datetime, expected_version: int | None = None
) -> None:
    """The thread's summary after a new message (last message; awaiting a reply since, and by
    when, after a patient-side message; a done thread reopens), with its version bumped by the
    compare-and-swap. A closed thread refuses (``thread_closed``), a changed one ``stale``."""
    updates: dict[str, Any] = {"last_message_at": now}
    if sender.patient_side:
        if thread.awaiting_reply_since is None:
            target = (
                thread.pool.response_target_hours
                if thread.pool_id and thread.pool and thread.pool.response_target_hours
                else thread.organization.expected_response_hours
            )
            updates["awaiting_reply_since"] = now
            updates["reply_due_at"] = now + dt.timedelta(hours=target)
        if thread.status == Thread.Status.DONE:
            updates["status"] = Thread.Status.OPEN
    elif sender.kind == Message.SenderKind.PRACTITIONER:
        updates["awaiting_reply_since"] = None
        updates["reply_due_at"] = None
    if not bump_version(thread, expected_version=expected_version, open_only=True, **updates):
        # Closed or changed since the caller loaded it: everything written so far rolls back.
        current = Thread.objects.filter(pk=thread.pk).values_list("status", flat=True).first()
        raise MessagingError("thread_closed" if current == Thread.Status.CLOSED else "stale")
    thread.version += 1
    for name, value in updates.items():
        setattr(thread, name, value)


def _fan_out(thread: Thread, message: Message, outgoing: Outgoing, *, now: dt.datetime) -> None:
    """Inbox rows for the thread's logins (one more unread each, the author's read) and the
    notification records of those told."""
    author = outgoing.sender.author
    members = {u.pk: side for u, side in outgoing.members}
    if author is not None:
        members.setdefault(author.pk, outgoing.sender.side)
    if members:
        ThreadMember.objects.bulk_create(
            [
                ThreadMember(thread=thread, user_id=uid, side=side, last_message_at=now)
                for uid, side in members.items()
            ],
            ignore_conflicts=True,
        )
    readers = ThreadMember.objects.filter(thread=thread)
    if outgoing.is_automatic:
        # Automatic replies are for the patient side; they are not practice work.
        readers = readers.exclude(side=Side.PRACTICE)
    if author is not None:
        # One statement: the author has read what they wrote, everyone else has one more.
        readers.update(
            unread=Case(When(user=author, then=F("unread")), default=F("unread") + 1),
            last_read_at=Case(When(user=author, then=Value(now)), default=F("last_read_at")),
            last_message_at=now,
        )
    else:
        readers.update(unread=F("unread") + 1, last_message_at=now)
    notify = [u for u in outgoing.notify if author is None or u.pk != author.pk]
    if notify:
        notifications.enqueue(
            notifications.KIND_MESSAGE_NEW,
            message.uuid,
            notify,
            practice_name=thread.organization.name,
            return_ids=False,
        )


def _audit(
    thread: Thread,
    message: Message,
    outgoing: Outgoing,
    *,
    recipients: int,
    request: HttpRequest | None,
) -> None:
    sender = outgoing.sender
    audit.record(
        codes.MESSAGE_SEND,
        actor=sender.author,
        actor_role="system" if sender.author is None else sender.side,
        request=request,
        patient=thread.patient_id,
        obj=message,
        details={
            "thread": str(thread.uuid),
            "sender": sender.kind,
            "recipients": recipients,
            "attachments": len(outgoing.attachment_ids),
            "on_behalf_of": str(sender.on_behalf_of.uuid) if sender.on_behalf_of else None,
            "automatic": outgoing.is_automatic,
        },
    )


def patient_side_members(users: Iterable[User], patient: Patient) -> list[tuple[User, str]]:
    return [(u, Side.PATIENT if u.pk == patient.user_id else Side.REPRESENTATIVE) for u in users]
