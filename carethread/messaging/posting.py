"""Writing one message: the checks every sending action shares and ``post_message``, the one
place a message, its recipients, inbox rows, notifications and audit entry are written.

The actions that decide who may write what (``actions.py``, ``triage.py``, ``outreach.py``) call
these inside their transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from carethread.audit import actions as audit
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
from carethread.notifications import actions as notifications

MAX_SUBJECT = 200
MAX_BODY = 20_000
READING_KINDS = {
    "blood-pressure": ("systolic", "diastolic"),
    "blood-glucose": ("value",),
    "weight": ("value",),
}

MESSAGE_SEND = "message.send"


@dataclass
class Addressees:
    """Who a new message goes to (rows for ``Recipient``) and which logins hold the thread."""

    patients: list[Patient] = field(default_factory=list)
    representatives: list[Any] = field(default_factory=list)
    practitioners: list[Practitioner] = field(default_factory=list)
    pools: list[CareTeamPool] = field(default_factory=list)

    def recipient_rows(self, message: Message) -> list[Recipient]:
        rows = [Recipient(message=message, kind="patient", patient=p) for p in self.patients]
        rows += [
            Recipient(message=message, kind="representative", representative=r)
            for r in self.representatives
        ]
        rows += [
            Recipient(message=message, kind="practitioner", practitioner=p)
            for p in self.practitioners
        ]
        rows += [Recipient(message=message, kind="pool", pool=p) for p in self.pools]
        return rows


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


def clean_readings(readings: Sequence[dict[str, Any]] | None) -> str | None:
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
        row: dict[str, Any] = {"kind": kind}
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


def check_rate(user: Any, now: dt.datetime) -> None:
    limit = settings.CARETHREAD_SEND_RATE_PER_HOUR
    recent = Message.objects.filter(
        author=user, created_at__gte=now - dt.timedelta(hours=1)
    ).count()
    if recent >= limit:
        raise MessagingError("rate_limited")


def replayed(user: Any, client_key: str | None) -> Message | None:
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
) -> tuple[Addressees, list[Any]]:
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
    *,
    sender_kind: str,
    body: str,
    addressees: Addressees,
    author: Any = None,
    sender_practitioner: Practitioner | None = None,
    sender_patient: Patient | None = None,
    sender_representative: Any = None,
    on_behalf_of: Practitioner | None = None,
    in_response_to: Message | None = None,
    readings_json: str | None = None,
    attachment_ids: Sequence[UUID | str] = (),
    member_users: Sequence[tuple[Any, str]] = (),
    notify_users: Iterable[Any] = (),
    is_automatic: bool = False,
    client_key: str | None = None,
    request: Any = None,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Message:
    """Write one message with its recipients, attachments, inbox rows, notifications and
    audit entry. Runs in the caller's transaction (callers hold ``transaction.atomic``)."""
    now = now or timezone.now()
    message = Message(
        thread=thread,
        in_response_to=in_response_to,
        status=Message.Status.COMPLETED,
        sender_kind=sender_kind,
        sender_patient=sender_patient,
        sender_representative=sender_representative,
        sender_practitioner=sender_practitioner,
        on_behalf_of=on_behalf_of,
        author=author,
        is_automatic=is_automatic,
        sent_at=now,
        created_at=now,
        client_key=client_key[:64] if client_key else None,
    )
    message.identifier = f"msg-{message.uuid.hex}"
    message.seal("body_ct", body)
    if readings_json:
        message.seal("readings_ct", readings_json)
    if client_key:
        # A concurrent retry with the same key loses the unique race: answer with the winner.
        try:
            with transaction.atomic():
                message.save(force_insert=True)
        except IntegrityError:
            existing = replayed(author, client_key)
            if existing is None:
                raise
            return existing
    else:
        message.save(force_insert=True)
    Recipient.objects.bulk_create(addressees.recipient_rows(message))
    message.attached = len(attachment_ids)  # type: ignore[attr-defined]
    if attachment_ids:
        if len(attachment_ids) > settings.CARETHREAD_ATTACHMENT_MAX_COUNT:
            raise MessagingError("too_many_attachments")
        linked = Attachment.objects.filter(
            uuid__in=list(attachment_ids), uploaded_by=author, message__isnull=True
        ).update(message=message)
        if linked != len(set(attachment_ids)):
            raise MessagingError("bad_attachment")

    patient_side = sender_kind in (Message.SenderKind.PATIENT, Message.SenderKind.REPRESENTATIVE)
    updates: dict[str, Any] = {"last_message_at": now, "version": F("version") + 1}
    if patient_side:
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
    elif sender_kind == Message.SenderKind.PRACTITIONER:
        updates["awaiting_reply_since"] = None
        updates["reply_due_at"] = None
    guarded = Thread.objects.filter(pk=thread.pk).exclude(status=Thread.Status.CLOSED)
    if expected_version is not None:
        guarded = guarded.filter(version=expected_version)
    if not guarded.update(**updates):
        # Closed or changed since the caller loaded it: everything written so far rolls back.
        current = Thread.objects.filter(pk=thread.pk).values_list("status", flat=True).first()
        raise MessagingError("thread_closed" if current == Thread.Status.CLOSED else "stale")
    thread.version += 1
    for name, value in updates.items():
        if name != "version":
            setattr(thread, name, value)

    members = {getattr(u, "pk", u): side for u, side in member_users}
    if author is not None:
        members.setdefault(author.pk, _author_side(sender_kind))
    if members:
        ThreadMember.objects.bulk_create(
            [
                ThreadMember(thread=thread, user_id=uid, side=side, last_message_at=now)
                for uid, side in members.items()
            ],
            ignore_conflicts=True,
        )
    readers = ThreadMember.objects.filter(thread=thread)
    if is_automatic:
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

    notify = [u for u in notify_users if author is None or getattr(u, "pk", u) != author.pk]
    if notify:
        notifications.enqueue(
            notifications.KIND_MESSAGE_NEW,
            message.uuid,
            notify,
            practice_name=thread.organization.name,
            return_ids=False,
        )
    audit.record(
        MESSAGE_SEND,
        actor=author,
        actor_role="system" if author is None else _author_side(sender_kind),
        request=request,
        patient=thread.patient_id,
        obj=message,
        details={
            "thread": str(thread.uuid),
            "sender": sender_kind,
            "recipients": len(addressees.recipient_rows(message)),
            "attachments": len(attachment_ids),
            "on_behalf_of": str(on_behalf_of.uuid) if on_behalf_of else None,
            "automatic": is_automatic,
        },
    )
    return message


def _author_side(sender_kind: str) -> str:
    if sender_kind == Message.SenderKind.PATIENT:
        return Side.PATIENT
    if sender_kind == Message.SenderKind.REPRESENTATIVE:
        return Side.REPRESENTATIVE
    return Side.PRACTICE


def patient_side_members(users: Iterable[Any], patient: Patient) -> list[tuple[Any, str]]:
    return [(u, Side.PATIENT if u.pk == patient.user_id else Side.REPRESENTATIVE) for u in users]
