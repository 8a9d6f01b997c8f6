"""Reads of secure messaging with their permission filters: inbox lists and the thread view.

Both apply the access gate's one rule (``access.thread_rights_q``: lists filter by it, the thread
view starts from ``access_thread``), and keep a fixed number of
queries whatever the page holds (pinned by tests): an inbox page is one query for the rows
(plus one for the caller's unread counts outside "mine"); a thread view is three.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Model, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from carethread.core.models import CareTeamPool, Membership, Organization, Patient
from carethread.messaging import rules
from carethread.messaging.access import (
    Viewer,
    remember_practice_side,
    thread_rights_q,
    with_practice_side,
)
from carethread.messaging.models import (
    Attachment,
    EmergencyAccess,
    Message,
    Note,
    Side,
    Thread,
    ThreadMember,
)

PAGE = 50
MAX_PAGE = 200
# The inbox's boxes (the API's ``box`` choices are checked against this).
BOXES = ("mine", "assigned", "pool", "patient", "all")

Row = TypeVar("Row", bound=Model)


@dataclass
class InboxRow:
    thread: Thread
    subject: str
    unread: int
    overdue: bool


@dataclass
class MessageView:
    message: Message
    body: str | None
    readings: list[dict[str, Any]]
    sender_label: str
    side: str
    attachments: list[tuple[Attachment, str]] = field(default_factory=list)


@dataclass
class ThreadView:
    thread: Thread
    subject: str
    side: str
    messages: list[MessageView]
    notes: list[tuple[Note, str]]
    can_reply: bool
    reply_closed_reason: str | None
    # The emergency access that opened the thread (read-only: no reply, no notes), if any.
    emergency: EmergencyAccess | None = None


@dataclass(frozen=True)
class InboxFilter:
    """Which threads an inbox page lists: the box and the filters within it (``None``: any).

    ``box``: ``mine`` (threads the caller takes part in: the usual inbox), ``assigned`` (to the
    caller), ``pool`` (one of the caller's pools, ``pool`` its UUID), ``patient`` (everything
    the caller may see about ``patient``), ``all`` (everything the caller may see).
    """

    box: str = "mine"
    pool: UUID | None = None
    status: str | None = None
    category: str | None = None
    patient: UUID | None = None
    assignee: UUID | None = None
    unread: bool | None = None
    overdue: bool | None = None


def _filtered(
    threads: QuerySet[Row], wanted: InboxFilter, now: dt.datetime, prefix: str = ""
) -> QuerySet[Row]:
    """``threads`` (or the rows whose ``prefix`` leads to a thread) narrowed by the thread's
    status, category, patient, assignee and whether its reply is overdue."""
    p = prefix
    if wanted.status:
        threads = threads.filter(**{f"{p}status": wanted.status})
    if wanted.category:
        threads = threads.filter(**{f"{p}category": wanted.category})
    if wanted.patient:
        threads = threads.filter(**{f"{p}patient__uuid": wanted.patient})
    if wanted.assignee:
        threads = threads.filter(**{f"{p}assignee__uuid": wanted.assignee})
    if wanted.overdue is True:
        threads = threads.filter(**{f"{p}reply_due_at__lt": now})
    elif wanted.overdue is False:
        threads = threads.filter(
            Q(**{f"{p}reply_due_at__isnull": True}) | Q(**{f"{p}reply_due_at__gte": now})
        )
    return threads


def inbox(
    viewer: Viewer,
    wanted: InboxFilter | None = None,
    *,
    before: dt.datetime | None = None,
    limit: int = PAGE,
) -> list[InboxRow]:
    """One page of the threads ``wanted`` names (every thread of the caller's own inbox when
    ``None``), newest activity first, older than ``before`` when given."""
    wanted = wanted or InboxFilter()
    if viewer.user is None:
        return []
    now = timezone.now()
    limit = max(1, min(limit, MAX_PAGE))
    base = Thread.objects.select_related("patient", "assignee", "pool", "organization")
    if wanted.box == "mine":
        members = ThreadMember.objects.filter(user=viewer.user).filter(
            thread_rights_q(viewer, prefix="thread__", own_rows=True)
        )
        if wanted.unread:
            members = members.filter(unread__gt=0)
        elif wanted.unread is False:
            members = members.filter(unread=0)
        if before is not None:
            members = members.filter(last_message_at__lt=before)
        members = _filtered(members, wanted, now, prefix="thread__")
        members = with_practice_side(viewer, members, prefix="thread__", own_rows=True)
        page = list(
            members.select_related(
                "thread__patient", "thread__assignee", "thread__pool", "thread__organization"
            ).order_by("-last_message_at", "-pk")[:limit]
        )
        for m in page:
            remember_practice_side(viewer, m.thread, getattr(m, "viewer_practice_side", None))
        return [
            InboxRow(
                thread=m.thread,
                subject=m.thread.unseal("subject_ct") or "",
                unread=m.unread,
                overdue=_overdue(m.thread, now),
            )
            for m in page
        ]
    if wanted.box == "assigned":
        if viewer.practitioner is None:
            return []
        threads = base.filter(assignee=viewer.practitioner)
    elif wanted.box == "pool":
        if wanted.pool is None:
            return []
        threads = base.filter(pool__uuid=wanted.pool, pool_id__in=list(viewer.pool_ids))
    elif wanted.box in ("patient", "all"):
        threads = base
        if wanted.box == "patient" and wanted.patient is None:
            return []
    else:
        return []
    threads = with_practice_side(viewer, threads.filter(thread_rights_q(viewer)))
    threads = _filtered(threads, wanted, now)
    if before is not None:
        threads = threads.filter(last_message_at__lt=before)
    if wanted.unread is not None:
        unread_ids = ThreadMember.objects.filter(user=viewer.user, unread__gt=0).values("thread")
        threads = (
            threads.filter(pk__in=unread_ids)
            if wanted.unread
            else threads.exclude(pk__in=unread_ids)
        )
    page_threads = list(threads.order_by("-last_message_at", "-pk")[:limit])
    for t in page_threads:
        remember_practice_side(viewer, t, getattr(t, "viewer_practice_side", None))
    counts = dict(
        ThreadMember.objects.filter(
            user=viewer.user, thread_id__in=[t.pk for t in page_threads]
        ).values_list("thread_id", "unread")
    )
    return [
        InboxRow(
            thread=t,
            subject=t.unseal("subject_ct") or "",
            unread=counts.get(t.pk, 0),
            overdue=_overdue(t, now),
        )
        for t in page_threads
    ]


def _overdue(thread: Thread, now: dt.datetime) -> bool:
    return thread.reply_due_at is not None and thread.reply_due_at < now


def unread_total(viewer: Viewer) -> int:
    """The caller's unread messages over the threads they may still open."""
    if viewer.user is None:
        return 0
    from django.db.models import Sum

    # A join from the caller's own rows (not "thread in <every allowed thread>"): the cost
    # follows the caller's inbox, not the size of the organisation.
    total = (
        ThreadMember.objects.filter(user=viewer.user, unread__gt=0)
        .filter(thread_rights_q(viewer, prefix="thread__", own_rows=True))
        .aggregate(n=Sum("unread"))["n"]
    )
    return int(total or 0)


def sender_label(message: Message) -> str:
    """Who wrote it, as both sides see it ("Jane Doe on behalf of Sam Doe")."""
    kind = message.sender_kind
    if kind == Message.SenderKind.PATIENT and message.sender_patient is not None:
        return message.sender_patient.display_name
    if kind == Message.SenderKind.REPRESENTATIVE and message.sender_representative is not None:
        rep = message.sender_representative
        return f"{rep.display_name} on behalf of {rep.patient.display_name}"
    if kind == Message.SenderKind.PRACTITIONER and message.sender_practitioner is not None:
        name = message.sender_practitioner.display_name
        if message.on_behalf_of is not None:
            return f"{name} on behalf of {message.on_behalf_of.display_name}"
        return name
    return "Automatic message"


def message_view(message: Message, practice: bool, files: Iterable[Attachment]) -> MessageView:
    """One message as a reader sees it: a retraction hides the content from the patient side
    (the practice still sees what was retracted, marked as such)."""
    hidden = message.is_retracted and not practice
    readings = (
        []
        if hidden or message.readings_ct is None
        else json.loads(message.unseal("readings_ct") or "[]")
    )
    return MessageView(
        message=message,
        body=None if hidden else message.unseal("body_ct"),
        readings=readings,
        sender_label=sender_label(message),
        side=Side.PRACTICE
        if message.sender_kind in ("practitioner", "system")
        else message.sender_kind,
        attachments=[] if hidden else [(a, a.unseal("filename_ct") or "") for a in files],
    )


def thread_view(thread: Thread, viewer: Viewer) -> ThreadView:
    """Everything the thread page shows, for a thread that passed ``access_thread``."""
    side = viewer.side_for(thread) or Side.PRACTICE
    practice = side == Side.PRACTICE
    emergency = viewer.emergency_for(thread)
    messages = (
        Message.objects.filter(thread=thread, sent_at__isnull=False)
        .select_related(
            "sender_patient",
            "sender_representative__patient",
            "sender_practitioner",
            "on_behalf_of",
        )
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "pk"))
        )
        .order_by("sent_at", "pk")
    )
    views = [message_view(message, practice, message.attachments.all()) for message in messages]
    notes: list[tuple[Note, str]] = []
    if practice and emergency is None:
        notes = [
            (n, n.unseal("body_ct") or "")
            for n in Note.objects.filter(thread=thread)
            .select_related("author")
            .order_by("created_at", "pk")
        ]
    can_reply, reason = reply_state(thread, side)
    if emergency is not None:
        can_reply, reason = False, "emergency_read_only"
    return ThreadView(
        thread=thread,
        subject=thread.unseal("subject_ct") or "",
        side=side,
        messages=views,
        notes=notes,
        can_reply=can_reply,
        reply_closed_reason=reason,
        emergency=emergency,
    )


def reply_state(
    thread: Thread, side: str, now: dt.datetime | None = None
) -> tuple[bool, str | None]:
    """Whether ``side`` may reply now, and the reason code when not."""
    now = now or timezone.now()
    if thread.status == Thread.Status.CLOSED:
        return False, "thread_closed"
    if side != Side.PRACTICE:
        if not thread.includes_patient:
            return False, "not_allowed"
        window = dt.timedelta(days=thread.organization.reply_window_days)
        if now > thread.last_message_at + window:
            return False, "reply_window_closed"
    return True, None


# -- composing and acting on one message ----------------------------------------------------------


def message_in(thread: Thread, message_uuid: UUID | str) -> Message:
    """A message of ``thread`` (opened by the gate) by UUID; ``Http404`` for any other, a
    malformed UUID included."""
    try:
        message = (
            Message.objects.select_related("thread__organization")
            .filter(thread=thread, uuid=message_uuid)
            .first()
        )
    except (ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if message is None:
        raise Http404
    return message


def patient_recipients(patient: Patient) -> tuple[list[Membership], list[CareTeamPool]]:
    """Whom the patient side may write to about ``patient``: the memberships of clinicians who
    saw them (``rules.established_memberships``) and their practices' active pools, by practice
    name and pool name."""
    pools = sorted(
        rules.pools_for_patient(patient), key=lambda p: (p.organization.name, p.name, p.pk)
    )
    return rules.established_memberships(patient), pools


def patient_organizations(viewer: Viewer, patient: Patient) -> list[Organization]:
    """The viewer's organisations ``patient`` belongs to (where the practice side may write to
    them from), by name."""
    return [
        org
        for org in Organization.objects.filter(pk__in=list(viewer.memberships)).order_by("name")
        if rules.is_patient_of(patient, org)
    ]
