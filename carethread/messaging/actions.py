"""Writes of secure messaging: start a thread, reply, read, retract. Each runs in one
transaction with its audit entry and, for a new message, its notification records.

Callers pass the signed-in ``user`` (and, when they have it, the ``Viewer`` the access gate
returned); refused requests raise ``MessagingError`` and write nothing.
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
from carethread.messaging import rules, triage
from carethread.messaging.access import Viewer, viewer_for
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
MESSAGE_READ = "message.read"
MESSAGE_RETRACT = "message.retract"
THREAD_VIEW = "thread.view"


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


# -- starting a thread ---------------------------------------------------------------------------


def start_thread(
    user: Any,
    *,
    patient: Patient,
    category: str,
    subject: str,
    body: str,
    to_practitioners: Sequence[Practitioner] = (),
    to_pool: CareTeamPool | None = None,
    organization: Organization | None = None,
    include_patient: bool = True,
    private: bool = False,
    on_behalf_of: Practitioner | None = None,
    attachments: Sequence[UUID | str] = (),
    readings: Sequence[dict[str, Any]] | None = None,
    client_key: str | None = None,
    request: Any = None,
    viewer: Viewer | None = None,
    rate_limit: bool = True,
) -> Message:
    """A new thread about ``patient`` and its first message.

    ``rate_limit=False`` is for callers with their own limit and confirmation step (bulk
    outreach); every other caller keeps the per-login sending rate.

    * The patient (or a valid representative) writes to clinicians who saw the patient within
      the practice's look-back, or to one of the practice's care-team pools.
    * A practice user writes to an enrolled, unblocked patient of the organisation
      (``to_practitioners`` empty), or to colleagues about the patient (``to_practitioners``),
      optionally including the patient side.
    """
    viewer = viewer or viewer_for(user)
    if viewer.user is None:
        raise MessagingError("not_allowed")
    earlier = replayed(user, client_key)
    if earlier is not None:
        return earlier
    category = clean_category(category)
    subject = clean_text(subject, limit=MAX_SUBJECT, code="empty_body")
    body = clean_text(body, limit=MAX_BODY)
    readings_json = clean_readings(readings)
    now = timezone.now()
    if rate_limit:
        check_rate(user, now)
    if (viewer.patient is not None and viewer.patient.pk == patient.pk) or (
        patient.pk in viewer.representing
    ):
        return _start_from_patient_side(
            viewer, patient, category, subject, body, to_practitioners, to_pool, private,
            attachments, readings_json, client_key, request, now,
        )  # fmt: skip
    if not viewer.is_practice:
        raise MessagingError("patient_not_allowed")
    return _start_from_practice(
        viewer, patient, category, subject, body, to_practitioners, organization,
        include_patient, private, on_behalf_of, attachments, readings_json, client_key,
        request, now,
    )  # fmt: skip


def _start_from_patient_side(
    viewer: Viewer,
    patient: Patient,
    category: str,
    subject: str,
    body: str,
    to_practitioners: Sequence[Practitioner],
    to_pool: CareTeamPool | None,
    private: bool,
    attachments: Sequence[UUID | str],
    readings_json: str | None,
    client_key: str | None,
    request: Any,
    now: dt.datetime,
) -> Message:
    if len(to_practitioners) + (1 if to_pool else 0) != 1:
        raise MessagingError("no_recipient" if not to_practitioners and not to_pool else
                             "recipient_not_allowed")  # fmt: skip
    if to_pool is not None:
        allowed_pools = {p.pk: p for p in rules.pools_for_patient(patient, now)}
        if to_pool.pk not in allowed_pools:
            raise MessagingError("recipient_not_allowed")
        organization = allowed_pools[to_pool.pk].organization
        practitioners: list[Practitioner] = []
    else:
        target = to_practitioners[0]
        allowed = [
            m for m in rules.established_memberships(patient, now) if m.practitioner_id == target.pk
        ]
        if not allowed:
            raise MessagingError("recipient_not_allowed")
        organization = allowed[0].organization
        practitioners = [allowed[0].practitioner]
    if not organization.messaging_enabled:
        raise MessagingError("messaging_disabled")
    is_patient = viewer.patient is not None and viewer.patient.pk == patient.pk
    representative = None if is_patient else viewer.representing[patient.pk]
    pool = to_pool or triage.route_pool(organization, category)
    with transaction.atomic():
        thread = Thread(
            organization=organization,
            patient=patient,
            kind=Thread.Kind.PATIENT,
            category=category,
            started_by=Side.PATIENT if is_patient else Side.REPRESENTATIVE,
            includes_patient=True,
            private_from_representatives=bool(private and is_patient),
            pool=pool,
            created_at=now,
            last_message_at=now,
        )
        thread.seal("subject_ct", subject)
        thread.save(force_insert=True)
        pools = [pool] if pool is not None else []
        practice_users = practice_users_of(practitioners, pools)
        _, patient_users = patient_side_addressees(thread, patient, now)
        message = post_message(
            thread,
            sender_kind=Message.SenderKind.PATIENT if is_patient else "representative",
            sender_patient=patient if is_patient else None,
            sender_representative=representative,
            author=viewer.user,
            body=body,
            addressees=Addressees(practitioners=practitioners, pools=pools),
            readings_json=readings_json,
            attachment_ids=attachments,
            member_users=[(u, Side.PRACTICE) for u in practice_users]
            + patient_side_members(patient_users, patient),
            notify_users=practice_users,
            client_key=client_key,
            request=request,
            now=now,
        )
        triage.after_patient_message(thread, message, new_thread=True)
    return message


def _start_from_practice(
    viewer: Viewer,
    patient: Patient,
    category: str,
    subject: str,
    body: str,
    to_practitioners: Sequence[Practitioner],
    organization: Organization | None,
    include_patient: bool,
    private: bool,
    on_behalf_of: Practitioner | None,
    attachments: Sequence[UUID | str],
    readings_json: str | None,
    client_key: str | None,
    request: Any,
    now: dt.datetime,
) -> Message:
    assert viewer.practitioner is not None
    org = practice_organization(viewer, patient, organization)
    check_on_behalf(viewer, org, on_behalf_of)
    clinical = bool(to_practitioners)
    if clinical:
        if not viewer.is_clinician_in(org.pk) and on_behalf_of is None:
            raise MessagingError("not_allowed")
        colleagues = set(rules.practice_members(org).values_list("pk", flat=True))
        if any(p.pk not in colleagues or p.pk == viewer.practitioner.pk for p in to_practitioners):
            raise MessagingError("recipient_not_allowed")
    else:
        include_patient = True
    with transaction.atomic():
        thread = Thread(
            organization=org,
            patient=patient,
            kind=Thread.Kind.CLINICAL if clinical else Thread.Kind.PATIENT,
            category=category,
            started_by=Side.PRACTICE,
            includes_patient=include_patient,
            private_from_representatives=bool(private),
            assignee=None if clinical else (on_behalf_of or viewer.practitioner),
            created_at=now,
            last_message_at=now,
        )
        thread.seal("subject_ct", subject)
        thread.save(force_insert=True)
        addressees = Addressees(practitioners=list(to_practitioners))
        patient_users: list[Any] = []
        if include_patient:
            side, patient_users = patient_side_addressees(thread, patient, now)
            if not patient_users:
                raise MessagingError("not_enrolled")
            addressees.patients, addressees.representatives = side.patients, side.representatives
        colleagues_users = practice_users_of(to_practitioners, [])
        extra = [on_behalf_of] if on_behalf_of is not None else []
        message = post_message(
            thread,
            sender_kind=Message.SenderKind.PRACTITIONER,
            sender_practitioner=viewer.practitioner,
            on_behalf_of=on_behalf_of,
            author=viewer.user,
            body=body,
            addressees=addressees,
            readings_json=readings_json,
            attachment_ids=attachments,
            member_users=[(u, Side.PRACTICE) for u in colleagues_users]
            + [(u, Side.PRACTICE) for u in practice_users_of(extra, [])]
            + patient_side_members(patient_users, patient),
            notify_users=colleagues_users + patient_users,
            client_key=client_key,
            request=request,
            now=now,
        )
    return message


# -- replying ------------------------------------------------------------------------------------


def reply(
    user: Any,
    thread: Thread,
    *,
    body: str,
    in_response_to: Message | None = None,
    on_behalf_of: Practitioner | None = None,
    attachments: Sequence[UUID | str] = (),
    readings: Sequence[dict[str, Any]] | None = None,
    client_key: str | None = None,
    expected_version: int | None = None,
    request: Any = None,
    viewer: Viewer | None = None,
) -> Message:
    """A reply in ``thread`` (already through the access gate) from either side."""
    viewer = viewer or viewer_for(user)
    earlier = replayed(user, client_key)
    if earlier is not None:
        return earlier
    body = clean_text(body, limit=MAX_BODY)
    readings_json = clean_readings(readings)
    side = viewer.side_for(thread)
    if side is None:
        raise MessagingError("not_allowed")
    now = timezone.now()
    check_rate(user, now)
    if in_response_to is not None and in_response_to.thread_id != thread.pk:
        raise MessagingError("bad_request")
    # Checked here on the thread as loaded, and again by the guarded update in ``post_message``
    # (a thread closed or changed meanwhile rolls the reply back).
    if expected_version is not None and thread.version != expected_version:
        raise MessagingError("stale")
    if thread.status == Thread.Status.CLOSED:
        raise MessagingError("thread_closed")
    with transaction.atomic():
        patient = thread.patient
        if side == Side.PRACTICE:
            check_on_behalf(viewer, thread.organization, on_behalf_of)
            message = _practice_reply(
                viewer, thread, body, in_response_to, on_behalf_of, attachments, readings_json,
                client_key, request, now, expected_version,
            )  # fmt: skip
        else:
            if on_behalf_of is not None:
                raise MessagingError("on_behalf_not_allowed")
            window = dt.timedelta(days=thread.organization.reply_window_days)
            if now > thread.last_message_at + window:
                raise MessagingError("reply_window_closed")
            if not thread.organization.messaging_enabled:
                raise MessagingError("messaging_disabled")
            practitioners, pools = _practice_participants(thread)
            practice_users = practice_users_of(practitioners, pools)
            _, patient_users = patient_side_addressees(thread, patient, now)
            is_patient = side == Side.PATIENT
            message = post_message(
                thread,
                sender_kind=Message.SenderKind.PATIENT if is_patient else "representative",
                sender_patient=patient if is_patient else None,
                sender_representative=None if is_patient else viewer.representing[patient.pk],
                author=viewer.user,
                body=body,
                addressees=Addressees(practitioners=practitioners, pools=pools),
                in_response_to=in_response_to or _latest(thread, practice_side=True),
                readings_json=readings_json,
                attachment_ids=attachments,
                member_users=[(u, Side.PRACTICE) for u in practice_users]
                + patient_side_members(patient_users, patient),
                notify_users=practice_users + [u for u in patient_users if u.pk != viewer.user.pk],
                client_key=client_key,
                request=request,
                now=now,
                expected_version=expected_version,
            )
            triage.after_patient_message(thread, message, new_thread=False)
    return message


def _practice_reply(
    viewer: Viewer,
    thread: Thread,
    body: str,
    in_response_to: Message | None,
    on_behalf_of: Practitioner | None,
    attachments: Sequence[UUID | str],
    readings_json: str | None,
    client_key: str | None,
    request: Any,
    now: dt.datetime,
    expected_version: int | None,
) -> Message:
    assert viewer.practitioner is not None
    addressees = Addressees()
    patient_users: list[Any] = []
    if thread.includes_patient:
        side, patient_users = patient_side_addressees(thread, thread.patient, now)
        addressees.patients, addressees.representatives = side.patients, side.representatives
    if thread.kind == Thread.Kind.CLINICAL:
        practitioners, _ = _practice_participants(thread)
        addressees.practitioners = [p for p in practitioners if p.pk != viewer.practitioner.pk]
    colleague_users = practice_users_of(addressees.practitioners, [])
    message = post_message(
        thread,
        sender_kind=Message.SenderKind.PRACTITIONER,
        sender_practitioner=viewer.practitioner,
        on_behalf_of=on_behalf_of,
        author=viewer.user,
        body=body,
        addressees=addressees,
        in_response_to=in_response_to or _latest(thread, practice_side=False),
        readings_json=readings_json,
        attachment_ids=attachments,
        member_users=[(u, Side.PRACTICE) for u in colleague_users]
        + patient_side_members(patient_users, thread.patient),
        notify_users=patient_users + colleague_users,
        client_key=client_key,
        request=request,
        now=now,
        expected_version=expected_version,
    )
    return message


def _latest(thread: Thread, *, practice_side: bool) -> Message | None:
    """The newest counted message of one side (what a reply answers by default)."""
    messages = Message.objects.filter(thread=thread, status=Message.Status.COMPLETED)
    if practice_side:
        messages = messages.filter(sender_kind=Message.SenderKind.PRACTITIONER)
    else:
        messages = messages.filter(
            sender_kind__in=[Message.SenderKind.PATIENT, Message.SenderKind.REPRESENTATIVE]
        )
    return messages.only("id", "uuid", "thread_id").order_by("-sent_at", "-pk").first()


def _practice_participants(thread: Thread) -> tuple[list[Practitioner], list[CareTeamPool]]:
    """Practitioners a patient-side reply goes to: the assignee, else whoever took part on
    the practice side (senders and addressees); plus the thread's pool."""
    pools = [thread.pool] if thread.pool_id and thread.pool else []
    if thread.assignee_id and thread.kind == Thread.Kind.PATIENT:
        assert thread.assignee is not None
        return [thread.assignee], pools
    ids = set(
        Message.objects.filter(thread=thread, sender_practitioner__isnull=False).values_list(
            "sender_practitioner_id", flat=True
        )
    ) | set(
        Recipient.objects.filter(message__thread=thread, practitioner__isnull=False).values_list(
            "practitioner_id", flat=True
        )
    )
    return list(Practitioner.objects.filter(pk__in=ids, active=True)), pools


# -- logins linked to a patient later ------------------------------------------------------------


def add_inbox_rows(user: Any, patient: Patient, *, side: str) -> int:
    """Inbox rows for the threads about ``patient`` that a login just linked to the patient
    (enrolment, a new representative) may read: every thread that includes the patient side,
    and for a representative those not kept private. History counts as read. Runs in the
    caller's transaction; returns how many rows were added."""
    threads = Thread.objects.filter(patient=patient, includes_patient=True)
    if side == Side.REPRESENTATIVE:
        threads = threads.filter(private_from_representatives=False)
    rows = [
        ThreadMember(thread_id=pk, user=user, side=side, last_message_at=last, last_read_at=last)
        for pk, last in threads.values_list("pk", "last_message_at")
    ]
    return len(ThreadMember.objects.bulk_create(rows, ignore_conflicts=True))


# -- reading and retracting ----------------------------------------------------------------------


def record_thread_view(user: Any, thread: Thread, *, request: Any = None) -> None:
    """The audit entry for opening a thread (security.md: every view of a thread)."""
    with transaction.atomic():
        audit.record(
            THREAD_VIEW, actor=user, request=request, patient=thread.patient_id, obj=thread
        )


def mark_read(
    user: Any, thread: Thread, *, request: Any = None, viewer: Viewer | None = None
) -> int:
    """Mark the thread read for ``user``: their unread count drops to 0 and messages from the
    other side get their read receipt. Returns how many receipts were set."""
    viewer = viewer or viewer_for(user)
    side = viewer.side_for(thread)
    if side is None:
        raise MessagingError("not_allowed")
    now = timezone.now()
    with transaction.atomic():
        member, _ = ThreadMember.objects.get_or_create(
            thread=thread,
            user=user,
            defaults={"side": side, "last_message_at": thread.last_message_at},
        )
        ThreadMember.objects.filter(pk=member.pk).update(unread=0, last_read_at=now)
        others = Message.objects.filter(
            thread=thread, first_read_at__isnull=True, sent_at__isnull=False
        )
        if side == Side.PRACTICE:
            others = others.exclude(sender_kind=Message.SenderKind.PRACTITIONER)
            others = others.exclude(sender_kind=Message.SenderKind.SYSTEM)
        else:
            others = others.filter(sender_kind=Message.SenderKind.PRACTITIONER)
        receipts = others.update(first_read_at=now)
        audit.record(
            MESSAGE_READ,
            actor=user,
            request=request,
            patient=thread.patient_id,
            obj=thread,
            details={"receipts": receipts},
        )
    return receipts


def retract(
    user: Any, message: Message, *, request: Any = None, viewer: Viewer | None = None
) -> Message:
    """Mark a message entered in error. It is kept (and audited) but never counted or shown as
    current. Its author may retract it; on the practice side, so may a practice user of the
    thread for a practice message."""
    viewer = viewer or viewer_for(user)
    thread = message.thread
    side = viewer.side_for(thread)
    own = message.author_id is not None and message.author_id == getattr(user, "pk", None)
    practice_msg = message.sender_kind in (
        Message.SenderKind.PRACTITIONER,
        Message.SenderKind.SYSTEM,
    )
    if not own and not (side == Side.PRACTICE and practice_msg):
        raise MessagingError("not_allowed")
    now = timezone.now()
    with transaction.atomic():
        changed = (
            Message.objects.filter(pk=message.pk)
            .exclude(status=Message.Status.ENTERED_IN_ERROR)
            .update(status=Message.Status.ENTERED_IN_ERROR, retracted_at=now, retracted_by=user)
        )
        if not changed:
            raise MessagingError("already_retracted")
        Thread.objects.filter(pk=thread.pk).update(version=F("version") + 1)
        audit.record(
            MESSAGE_RETRACT,
            actor=user,
            request=request,
            patient=thread.patient_id,
            obj=message,
            details={"thread": str(thread.uuid)},
        )
    message.refresh_from_db()
    return message
