"""Writes of secure messaging: start a thread, reply, read, retract. Each runs in one
transaction with its audit entry and, for a new message, its notification records.

Callers pass the signed-in ``user`` (and, when they have it, the ``Viewer`` the access gate
returned); refused requests raise ``MessagingError`` and write nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, TypedDict, Unpack
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import CareTeamPool, Organization, Patient, Practitioner
from carethread.messaging import rules, triage
from carethread.messaging.access import Viewer, viewer_for
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import (
    Message,
    Recipient,
    Side,
    Thread,
    ThreadMember,
)
from carethread.messaging.outgoing import Addressees, Compose, Sender
from carethread.messaging.posting import (
    MAX_BODY,
    MAX_SUBJECT,
    check_on_behalf,
    check_rate,
    clean_category,
    clean_readings,
    clean_text,
    patient_side_addressees,
    patient_side_members,
    post_message,
    practice_organization,
    practice_users_of,
    replayed,
)
from carethread.messaging.versions import bump_version

if TYPE_CHECKING:
    from carethread.accounts.models import User
    from carethread.core.json import JsonObject

# -- what the sending actions take ---------------------------------------------------------------


class _Written(TypedDict):
    body: str


class Sending(_Written, total=False):
    """What both sending actions take besides the addressing: the message as written, and the
    request context (``request`` for the audit entry, the caller's ``viewer`` when known)."""

    on_behalf_of: Practitioner | None
    attachments: Sequence[UUID | str]
    readings: Sequence[JsonObject] | None
    client_key: str | None
    request: HttpRequest | None
    viewer: Viewer | None


class _Opening(Sending):
    patient: Patient
    category: str
    subject: str


class StartFields(_Opening, total=False):
    """``start_thread``'s keywords: the patient, category and subject of the new thread, who it
    is addressed to, and ``rate_limit=False`` for callers with their own limit."""

    to_practitioners: Sequence[Practitioner]
    to_pool: CareTeamPool | None
    organization: Organization | None
    include_patient: bool
    private: bool
    rate_limit: bool


class ReplyFields(Sending, total=False):
    """``reply``'s keywords: the message answered and the thread version last seen."""

    in_response_to: Message | None
    expected_version: int | None


@dataclass(frozen=True)
class NewThread:
    """The thread ``start_thread`` opens: about whom, in which category, under which subject,
    to whom (``to_practitioners`` / ``to_pool``) and from which organisation."""

    patient: Patient
    category: str
    subject: str
    to_practitioners: Sequence[Practitioner] = ()
    to_pool: CareTeamPool | None = None
    organization: Organization | None = None
    include_patient: bool = True
    private: bool = False


@dataclass(frozen=True)
class Context:
    """Who sends, from which request, at what time."""

    viewer: Viewer
    request: HttpRequest | None
    now: dt.datetime

    @property
    def user(self) -> User:
        """The signed-in sender (the sending actions refuse a viewer without a login)."""
        user = self.viewer.user
        assert user is not None
        return user


class _KeywordSpec(Protocol):
    """A ``TypedDict`` class, as far as ``_keywords`` reads it."""

    __required_keys__: frozenset[str]
    __optional_keys__: frozenset[str]


def _keywords(fields: Mapping[str, object], spec: _KeywordSpec, action: str) -> None:
    """The ``TypeError`` Python raises for an unknown or missing keyword argument."""
    unknown = set(fields) - spec.__required_keys__ - spec.__optional_keys__
    missing = spec.__required_keys__ - set(fields)
    if unknown or missing:
        name = sorted(unknown or missing)[0]
        problem = "an unexpected" if unknown else "a missing required"
        raise TypeError(f"{action}() got {problem} keyword argument '{name}'")


def _compose(fields: Sending, in_response_to: Message | None = None) -> Compose:
    """The message as written, checked (``empty_body``, ``too_long``, ``bad_readings``)."""
    return Compose(
        body=clean_text(fields["body"], limit=MAX_BODY),
        readings_json=clean_readings(fields.get("readings")),
        attachments=fields.get("attachments", ()),
        in_response_to=in_response_to,
        on_behalf_of=fields.get("on_behalf_of"),
        client_key=fields.get("client_key"),
    )


# -- starting a thread ---------------------------------------------------------------------------


def start_thread(user: User, **fields: Unpack[StartFields]) -> Message:
    """A new thread about ``patient`` and its first message (keywords: ``StartFields``).

    ``rate_limit=False`` is for callers with their own limit and confirmation step (bulk
    outreach); every other caller keeps the per-login sending rate.

    * The patient (or a valid representative) writes to clinicians who saw the patient within
      the practice's look-back, or to one of the practice's care-team pools.
    * A practice user writes to an enrolled, unblocked patient of the organisation
      (``to_practitioners`` empty), or to colleagues about the patient (``to_practitioners``),
      optionally including the patient side.
    """
    _keywords(fields, StartFields, "start_thread")
    viewer = fields.get("viewer") or viewer_for(user)
    if viewer.user is None:
        raise MessagingError("not_allowed")
    earlier = replayed(user, fields.get("client_key"))
    if earlier is not None:
        return earlier
    new = NewThread(
        patient=fields["patient"],
        category=clean_category(fields["category"]),
        subject=clean_text(fields["subject"], limit=MAX_SUBJECT, code="empty_body"),
        to_practitioners=fields.get("to_practitioners", ()),
        to_pool=fields.get("to_pool"),
        organization=fields.get("organization"),
        include_patient=fields.get("include_patient", True),
        private=fields.get("private", False),
    )
    compose = _compose(fields)
    ctx = Context(viewer=viewer, request=fields.get("request"), now=timezone.now())
    if fields.get("rate_limit", True):
        check_rate(user, ctx.now)
    patient = new.patient
    if (viewer.patient is not None and viewer.patient.pk == patient.pk) or (
        patient.pk in viewer.representing
    ):
        return _start_from_patient_side(ctx, new, compose)
    if not viewer.is_practice:
        raise MessagingError("patient_not_allowed")
    return _start_from_practice(ctx, new, compose)


def _start_from_patient_side(ctx: Context, new: NewThread, compose: Compose) -> Message:
    patient, to_practitioners, to_pool = new.patient, new.to_practitioners, new.to_pool
    if len(to_practitioners) + (1 if to_pool else 0) != 1:
        none = not to_practitioners and not to_pool
        raise MessagingError("no_recipient" if none else "recipient_not_allowed")
    if to_pool is not None:
        allowed_pools = {p.pk: p for p in rules.pools_for_patient(patient, ctx.now)}
        if to_pool.pk not in allowed_pools:
            raise MessagingError("recipient_not_allowed")
        organization = allowed_pools[to_pool.pk].organization
        practitioners: list[Practitioner] = []
    else:
        target = to_practitioners[0]
        allowed = [
            m
            for m in rules.established_memberships(patient, ctx.now)
            if m.practitioner_id == target.pk
        ]
        if not allowed:
            raise MessagingError("recipient_not_allowed")
        organization = allowed[0].organization
        practitioners = [allowed[0].practitioner]
    if not organization.messaging_enabled:
        raise MessagingError("messaging_disabled")
    viewer = ctx.viewer
    is_patient = viewer.patient is not None and viewer.patient.pk == patient.pk
    pool = to_pool or triage.route_pool(organization, new.category)
    with transaction.atomic():
        thread = Thread(
            organization=organization,
            patient=patient,
            kind=Thread.Kind.PATIENT,
            category=new.category,
            started_by=Side.PATIENT if is_patient else Side.REPRESENTATIVE,
            includes_patient=True,
            private_from_representatives=bool(new.private and is_patient),
            pool=pool,
            created_at=ctx.now,
            last_message_at=ctx.now,
        )
        thread.seal("subject_ct", new.subject)
        thread.save(force_insert=True)
        addressees = Addressees(practitioners=practitioners, pools=[pool] if pool else [])
        message = _post_from_patient_side(ctx, thread, compose, addressees, new_thread=True)
    return message


def _start_from_practice(ctx: Context, new: NewThread, compose: Compose) -> Message:
    viewer, patient, to_practitioners = ctx.viewer, new.patient, new.to_practitioners
    on_behalf_of = compose.on_behalf_of
    assert viewer.practitioner is not None
    org = practice_organization(viewer, patient, new.organization)
    check_on_behalf(viewer, org, on_behalf_of)
    clinical = bool(to_practitioners)
    include_patient = new.include_patient or not clinical
    if clinical:
        if not viewer.is_clinician_in(org.pk) and on_behalf_of is None:
            raise MessagingError("not_allowed")
        colleagues = set(rules.practice_members(org).values_list("pk", flat=True))
        if any(p.pk not in colleagues or p.pk == viewer.practitioner.pk for p in to_practitioners):
            raise MessagingError("recipient_not_allowed")
    with transaction.atomic():
        thread = Thread(
            organization=org,
            patient=patient,
            kind=Thread.Kind.CLINICAL if clinical else Thread.Kind.PATIENT,
            category=new.category,
            started_by=Side.PRACTICE,
            includes_patient=include_patient,
            private_from_representatives=bool(new.private),
            assignee=None if clinical else (on_behalf_of or viewer.practitioner),
            created_at=ctx.now,
            last_message_at=ctx.now,
        )
        thread.seal("subject_ct", new.subject)
        thread.save(force_insert=True)
        addressees = Addressees(practitioners=list(to_practitioners))
        patient_users: list[User] = []
        if include_patient:
            side, patient_users = patient_side_addressees(thread, patient, ctx.now)
            if not patient_users:
                raise MessagingError("not_enrolled")
            addressees.patients, addressees.representatives = side.patients, side.representatives
        colleagues_users = practice_users_of(to_practitioners, [])
        extra = [on_behalf_of] if on_behalf_of is not None else []
        outgoing = compose.outgoing(
            Sender.practice(viewer.practitioner, ctx.user, on_behalf_of),
            addressees,
            members=[(u, Side.PRACTICE) for u in colleagues_users]
            + [(u, Side.PRACTICE) for u in practice_users_of(extra, [])]
            + patient_side_members(patient_users, patient),
            notify=colleagues_users + patient_users,
        )
        message = post_message(thread, outgoing, request=ctx.request, now=ctx.now)
    return message


# -- replying ------------------------------------------------------------------------------------


def reply(user: User, thread: Thread, **fields: Unpack[ReplyFields]) -> Message:
    """A reply in ``thread`` (already through the access gate) from either side (keywords:
    ``ReplyFields``)."""
    _keywords(fields, ReplyFields, "reply")
    viewer = fields.get("viewer") or viewer_for(user)
    earlier = replayed(user, fields.get("client_key"))
    if earlier is not None:
        return earlier
    in_response_to = fields.get("in_response_to")
    expected_version = fields.get("expected_version")
    compose = _compose(fields, in_response_to)
    side = viewer.side_for(thread)
    if side is None:
        raise MessagingError("not_allowed")
    ctx = Context(viewer=viewer, request=fields.get("request"), now=timezone.now())
    check_rate(user, ctx.now)
    if in_response_to is not None and in_response_to.thread_id != thread.pk:
        raise MessagingError("bad_request")
    # Checked here on the thread as loaded, and again by the guarded update in ``post_message``
    # (a thread closed or changed meanwhile rolls the reply back).
    if expected_version is not None and thread.version != expected_version:
        raise MessagingError("stale")
    if thread.status == Thread.Status.CLOSED:
        raise MessagingError("thread_closed")
    with transaction.atomic():
        if side == Side.PRACTICE:
            check_on_behalf(viewer, thread.organization, compose.on_behalf_of)
            if in_response_to is None:
                compose = replace(compose, in_response_to=_latest(thread, practice_side=False))
            return _practice_reply(ctx, thread, compose, expected_version)
        if compose.on_behalf_of is not None:
            raise MessagingError("on_behalf_not_allowed")
        window = dt.timedelta(days=thread.organization.reply_window_days)
        if ctx.now > thread.last_message_at + window:
            raise MessagingError("reply_window_closed")
        if not thread.organization.messaging_enabled:
            raise MessagingError("messaging_disabled")
        practitioners, pools = _practice_participants(thread)
        if in_response_to is None:
            compose = replace(compose, in_response_to=_latest(thread, practice_side=True))
        return _post_from_patient_side(
            ctx,
            thread,
            compose,
            Addressees(practitioners=practitioners, pools=pools),
            new_thread=False,
            expected_version=expected_version,
        )


def _post_from_patient_side(
    ctx: Context,
    thread: Thread,
    compose: Compose,
    addressees: Addressees,
    *,
    new_thread: bool,
    expected_version: int | None = None,
) -> Message:
    """A message by the patient or a valid representative to the practice side of ``thread``
    (``addressees``: its practitioners and pools); the other patient-side logins are told too.
    Then the triage hooks run."""
    viewer, patient = ctx.viewer, thread.patient
    is_patient = viewer.patient is not None and viewer.patient.pk == patient.pk
    practice_users = practice_users_of(addressees.practitioners, addressees.pools)
    _, patient_users = patient_side_addressees(thread, patient, ctx.now)
    if is_patient:
        sender = Sender(kind=Message.SenderKind.PATIENT, author=ctx.user, patient=patient)
    else:
        sender = Sender(
            kind=Message.SenderKind.REPRESENTATIVE,
            author=ctx.user,
            representative=viewer.representing[patient.pk],
        )
    outgoing = compose.outgoing(
        sender,
        addressees,
        members=[(u, Side.PRACTICE) for u in practice_users]
        + patient_side_members(patient_users, patient),
        notify=practice_users + [u for u in patient_users if u.pk != ctx.user.pk],
    )
    message = post_message(
        thread, outgoing, request=ctx.request, now=ctx.now, expected_version=expected_version
    )
    triage.after_patient_message(thread, message, new_thread=new_thread)
    return message


def _practice_reply(
    ctx: Context, thread: Thread, compose: Compose, expected_version: int | None
) -> Message:
    viewer = ctx.viewer
    assert viewer.practitioner is not None
    addressees = Addressees()
    patient_users: list[User] = []
    if thread.includes_patient:
        side, patient_users = patient_side_addressees(thread, thread.patient, ctx.now)
        addressees.patients, addressees.representatives = side.patients, side.representatives
    if thread.kind == Thread.Kind.CLINICAL:
        practitioners, _ = _practice_participants(thread)
        addressees.practitioners = [p for p in practitioners if p.pk != viewer.practitioner.pk]
    colleague_users = practice_users_of(addressees.practitioners, [])
    outgoing = compose.outgoing(
        Sender.practice(viewer.practitioner, ctx.user, compose.on_behalf_of),
        addressees,
        members=[(u, Side.PRACTICE) for u in colleague_users]
        + patient_side_members(patient_users, thread.patient),
        notify=patient_users + colleague_users,
    )
    return post_message(
        thread, outgoing, request=ctx.request, now=ctx.now, expected_version=expected_version
    )


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


def add_inbox_rows(user: User, patient: Patient, *, side: str) -> int:
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


def record_thread_view(
    user: User, thread: Thread, *, request: HttpRequest | None = None, viewer: Viewer | None = None
) -> None:
    """The audit entry for opening a thread (docs/messaging.md, "Audit": every view of a thread):
    ``emergency.thread_view`` with the emergency access's UUID when one opened it."""
    grant = (viewer or viewer_for(user)).emergency_for(thread)
    code, details = codes.THREAD_VIEW, None
    if grant is not None:
        code, details = codes.EMERGENCY_THREAD_VIEW, {"emergency_access": str(grant.uuid)}
    with transaction.atomic():
        audit.record(
            code,
            actor=user,
            request=request,
            patient=thread.patient_id,
            obj=thread,
            details=details,
        )


def mark_read(
    user: User, thread: Thread, *, request: HttpRequest | None = None, viewer: Viewer | None = None
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
            codes.MESSAGE_READ,
            actor=user,
            request=request,
            patient=thread.patient_id,
            obj=thread,
            details={"receipts": receipts},
        )
    return receipts


def retract(
    user: User,
    message: Message,
    *,
    request: HttpRequest | None = None,
    viewer: Viewer | None = None,
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
        bump_version(thread)
        audit.record(
            codes.MESSAGE_RETRACT,
            actor=user,
            request=request,
            patient=thread.patient_id,
            obj=message,
            details={"thread": str(thread.uuid)},
        )
    message.refresh_from_db()
    return message
