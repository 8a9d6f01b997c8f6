"""REST routes of secure messaging: threads, messages, read state, attachments, drafts.

Thin: every thread is found through the access gate (``access_thread``; the same 404 for
missing and forbidden), every write is a messaging action, and a refused action answers
``{"detail", "code"}`` with the ``MessagingError``'s status (handler in ``errors.py``). UUIDs a
client sends are resolved by ``drafts``' addressing functions, which give the same refusal for a
row that does not exist as for one the caller may not use.

Headers: ``Idempotency-Key`` (sending: a replay answers 200 with the message first sent instead
of 201) and ``If-Match: <version>`` (replying, saving a draft: 409 ``stale`` when it changed;
read by ``preconditions``, as for the triage routes). Reads the web pages make too are
in ``messaging.queries``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote
from uuid import UUID

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import File, Header, Query, Router, Status, UploadedFile

from carethread.accounts.models import User
from carethread.api import messaging_schemas as shapes
from carethread.api import preconditions
from carethread.api.auth import caller
from carethread.api.messaging_schemas import (
    AttachmentOut,
    DraftIn,
    DraftOut,
    InboxOut,
    InboxQuery,
    ReadingIn,
    ReadOut,
    RecipientsOut,
    ReplyIn,
    SentOut,
    StartIn,
    ThreadViewOut,
)
from carethread.api.schemas import REFUSED, Error, Invalid, Refusal
from carethread.core.json import JsonObject
from carethread.core.models import Membership, Patient
from carethread.messaging import actions, attachments, drafts, queries
from carethread.messaging.access import Viewer, access_attachment, access_thread, viewer_for
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Attachment, Message, Side, Thread, ThreadMember

router = Router(tags=["messaging"])

SENT: dict[int, Any] = {200: SentOut, 201: SentOut, 429: Refusal, **REFUSED}
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")
BINARY = {
    "responses": {
        200: {
            "description": "The file, as a download, with the type it was stored as",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in attachments.EXTENSIONS
            },
        }
    }
}


def _client_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.match(value):
        raise MessagingError("bad_request", "Idempotency-Key: 1 to 64 printable characters.")
    return value


def _readings(readings: list[ReadingIn]) -> list[JsonObject] | None:
    return [reading.as_action_input() for reading in readings] or None


def _thread_out(thread: Thread, viewer: Viewer) -> dict[str, Any]:
    subject = thread.unseal("subject_ct") or ""
    return shapes.thread_out(thread, subject, viewer.side_for(thread), timezone.now())


def _single_view(message: Message, viewer: Viewer) -> queries.MessageView:
    """What ``queries.thread_view`` shows of one message, for the answer to a send or retract."""
    practice = viewer.side_for(message.thread) == Side.PRACTICE
    # A message just sent knows how many files it linked; skip the lookup when none.
    linked = getattr(message, "attached", None)
    files = (
        []
        if linked == 0
        else Attachment.objects.filter(message=message).order_by("created_at", "pk")
    )
    return queries.message_view(message, practice, files)


def _message_out(message: Message, viewer: Viewer) -> dict[str, Any]:
    uuids = {}
    if message.in_response_to_id:
        answered = message.in_response_to
        uuids = {message.in_response_to_id: answered.uuid} if answered is not None else {}
    return shapes.message_out(_single_view(message, viewer), uuids)


def _sent(
    user: User, message: Message, viewer: Viewer, *, thread: Thread | None = None
) -> Status[dict[str, object]]:
    """201 with the new message, or 200 with the one first sent under the same key."""
    if not getattr(message, "replayed", False):
        return Status(
            201,
            {
                "thread": _thread_out(message.thread, viewer),
                "message": _message_out(message, viewer),
            },
        )
    if thread is not None and message.thread_id != thread.pk:
        raise MessagingError(
            "bad_request", "That Idempotency-Key was used for another conversation."
        )
    thread_uuid = Thread.objects.filter(pk=message.thread_id).values_list("uuid", flat=True).get()
    message.thread, viewer = access_thread(user, thread_uuid, viewer=viewer)
    return Status(
        200,
        {"thread": _thread_out(message.thread, viewer), "message": _message_out(message, viewer)},
    )


# -- threads ---------------------------------------------------------------------------------


@router.get("/threads", response={200: InboxOut, 401: Error, 422: Invalid}, summary="The inbox")
def list_threads(request: HttpRequest, filters: Query[InboxQuery]) -> Any:
    viewer = viewer_for(caller(request))
    before = filters.before
    if before is not None and timezone.is_naive(before):
        before = timezone.make_aware(before, dt.UTC)
    # The query holds the inbox filter's fields and the page's (``before``, ``limit``).
    wanted = queries.InboxFilter(**filters.model_dump(exclude={"before", "limit"}))
    rows = queries.inbox(viewer, wanted, before=before, limit=filters.limit)
    now = timezone.now()
    threads = [
        {
            **shapes.thread_out(row.thread, row.subject, viewer.side_for(row.thread), now),
            "unread": row.unread,
            "overdue": row.overdue,
        }
        for row in rows
    ]
    return {
        "threads": threads,
        "unread_total": queries.unread_total(viewer),
        "next_before": _next_before(viewer, filters.box, rows, filters.limit),
    }


def _next_before(viewer: Viewer, box: str, rows: list[queries.InboxRow], limit: int) -> str | None:
    """The cursor of the next page (full precision), or None after the last page.

    The "mine" box is ordered by the caller's inbox row, whose time can be older than the
    thread's (automatic replies do not move practice users' rows), so its cursor is that row's.
    """
    if len(rows) < limit:
        return None
    last = rows[-1].thread
    when = last.last_message_at
    if box == "mine":
        when = (
            ThreadMember.objects.filter(user=viewer.user, thread=last)
            .values_list("last_message_at", flat=True)
            .first()
        ) or when
    return when.isoformat()


@router.post("/threads", response=SENT, summary="Start a conversation")
def start_thread(
    request: HttpRequest,
    payload: StartIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Any:
    user = caller(request)
    viewer = viewer_for(user)
    message = actions.start_thread(
        user,
        patient=drafts.addressable_patient(viewer, payload.patient),
        category=payload.category,
        subject=payload.subject,
        body=payload.body,
        to_practitioners=drafts.practitioners_named(payload.to_practitioners),
        to_pool=drafts.pool_named(payload.to_pool),
        organization=drafts.organization_named(viewer, payload.organization),
        include_patient=payload.include_patient,
        private=payload.private,
        on_behalf_of=drafts.on_behalf_named(payload.on_behalf_of),
        attachments=payload.attachments,
        readings=_readings(payload.readings),
        client_key=_client_key(idempotency_key),
        request=request,
        viewer=viewer,
    )
    return _sent(user, message, viewer)


@router.get(
    "/threads/{thread_uuid}",
    response={200: ThreadViewOut, 401: Error, 404: Error, 422: Invalid},
    summary="One conversation (audited)",
)
def get_thread(request: HttpRequest, thread_uuid: UUID) -> Any:
    user = caller(request)
    thread, viewer = access_thread(user, thread_uuid)
    view = queries.thread_view(thread, viewer)
    actions.record_thread_view(user, thread, request=request, viewer=viewer)
    uuids = {m.message.pk: m.message.uuid for m in view.messages}
    notes = None
    if view.side == Side.PRACTICE:
        notes = [
            {
                "uuid": note.uuid,
                "author": shapes.named(note.author, note.author.display_name),
                "body": body,
                "created_at": note.created_at,
            }
            for note, body in view.notes
        ]
    return {
        "thread": shapes.thread_out(thread, view.subject, view.side, timezone.now()),
        "side": view.side,
        "messages": [shapes.message_out(m, uuids) for m in view.messages],
        "notes": notes,
        "can_reply": view.can_reply,
        "reason": view.reply_closed_reason,
    }


@router.post("/threads/{thread_uuid}/messages", response=SENT, summary="Reply")
def reply(
    request: HttpRequest,
    thread_uuid: UUID,
    payload: ReplyIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    if_match: str | None = preconditions.if_match_header(),
) -> Any:
    user = caller(request)
    thread, viewer = access_thread(user, thread_uuid)
    message = actions.reply(
        user,
        thread,
        body=payload.body,
        in_response_to=drafts.message_in_thread(thread, payload.in_response_to),
        on_behalf_of=drafts.on_behalf_named(payload.on_behalf_of),
        attachments=payload.attachments,
        readings=_readings(payload.readings),
        client_key=_client_key(idempotency_key),
        expected_version=preconditions.expected_version(if_match),
        request=request,
        viewer=viewer,
    )
    return _sent(user, message, viewer, thread=thread)


@router.post("/threads/{thread_uuid}/read", response={200: ReadOut, **REFUSED}, summary="Mark read")
def mark_read(request: HttpRequest, thread_uuid: UUID) -> Any:
    user = caller(request)
    thread, viewer = access_thread(user, thread_uuid)
    receipts = actions.mark_read(user, thread, request=request, viewer=viewer)
    return {"unread": 0, "receipts": receipts}


@router.post(
    "/messages/{message_uuid}/retract",
    response={200: shapes.MessageOut, **REFUSED},
    summary="Retract a message (kept, marked entered in error)",
)
def retract(request: HttpRequest, message_uuid: UUID) -> Any:
    user = caller(request)
    thread_uuid = (
        Message.objects.filter(uuid=message_uuid, sent_at__isnull=False)
        .values_list("thread__uuid", flat=True)
        .first()
    )
    if thread_uuid is None:
        raise Http404
    thread, viewer = access_thread(user, thread_uuid)
    message = queries.message_in(thread, message_uuid)
    message.thread = thread
    message = actions.retract(user, message, request=request, viewer=viewer)
    message.thread = thread
    return _message_out(message, viewer)


# -- attachments -----------------------------------------------------------------------------


@router.post(
    "/attachments",
    response={201: AttachmentOut, 413: Refusal | Error, 415: Refusal, 429: Refusal, **REFUSED},
    summary="Upload a file (multipart, field ``file``) to attach to a message",
)
def upload(request: HttpRequest, file: File[UploadedFile]) -> Any:
    limit = settings.CARETHREAD_ATTACHMENT_MAX_BYTES
    if file.size is not None and file.size > limit:
        raise MessagingError("attachment_too_large")
    data = file.read(limit + 1)
    attachment = attachments.upload_attachment(
        caller(request), filename=file.name or "", data=data, request=request
    )
    name = attachment.unseal("filename_ct") or ""
    return Status(201, shapes.attachment_out(attachment, name))


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266)."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    fallback = fallback.replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get(
    "/attachments/{attachment_uuid}",
    response={401: Error, 404: Error, 422: Invalid},
    openapi_extra=BINARY,
    summary="Download a file (audited)",
)
def download(request: HttpRequest, attachment_uuid: UUID) -> Any:
    user = caller(request)
    attachment, viewer = access_attachment(user, attachment_uuid)
    data = attachment.unseal_bytes("data_ct") or b""
    filename = attachment.unseal("filename_ct") or "attachment"
    attachments.record_download(user, attachment, request=request, viewer=viewer)
    response = HttpResponse(
        data, content_type=attachments.served_content_type(attachment.content_type)
    )
    response["Content-Disposition"] = content_disposition(filename)
    response["Content-Length"] = str(len(data))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# -- compose ---------------------------------------------------------------------------------


@router.get(
    "/recipients",
    response={200: RecipientsOut, 401: Error, 404: Error, 422: Invalid},
    summary="Whom the caller may write to about a patient",
)
def recipients(request: HttpRequest, patient: UUID) -> Any:
    viewer = viewer_for(caller(request))
    try:
        row = drafts.addressable_patient(viewer, patient)
    except MessagingError:
        raise Http404 from None
    own = viewer.patient is not None and viewer.patient.pk == row.pk
    if own or row.pk in viewer.representing:
        memberships, pools = queries.patient_recipients(row)
        return {
            "practitioners": shapes.recipient_rows(
                (m.practitioner, m.practitioner.display_name, m.organization) for m in memberships
            ),
            "pools": shapes.recipient_rows((p, p.name, p.organization) for p in pools),
        }
    assert viewer.practitioner is not None
    organizations = queries.patient_organizations(viewer, row)
    colleagues = (
        Membership.objects.filter(
            organization__in=organizations, active=True, practitioner__active=True
        )
        .exclude(practitioner=viewer.practitioner)
        .select_related("practitioner", "organization")
        .order_by("practitioner__family_name", "practitioner__given_name", "pk")
    )
    return {
        "practitioners": shapes.recipient_rows(
            (m.practitioner, m.practitioner.display_name, m.organization) for m in colleagues
        ),
        "pools": [],
    }


# -- drafts ----------------------------------------------------------------------------------


class _DraftArgs(drafts.DraftContent):
    """``save_draft``'s keywords read from a ``DraftIn``: the thread or patient and the content."""

    thread: Thread | None
    patient: Patient | None


def _draft_args(user: User, payload: DraftIn) -> _DraftArgs:
    thread: Thread | None = None
    patient: Patient | None = None
    if payload.thread is not None:
        thread, _viewer = access_thread(user, payload.thread)
    elif payload.patient is not None:
        patient = drafts.addressable_patient(viewer_for(user), payload.patient)
    return {
        "thread": thread,
        "patient": patient,
        "recipients": payload.recipients.model_dump(),
        "category": payload.category,
        "subject": payload.subject,
        "body": payload.body,
    }


@router.get("/drafts", response={200: list[DraftOut], 401: Error}, summary="The caller's drafts")
def list_drafts(request: HttpRequest) -> Any:
    return [shapes.draft_out(d) for d in drafts.drafts_of(caller(request))[: queries.MAX_PAGE]]


@router.post("/drafts", response={201: DraftOut, **REFUSED}, summary="Save a new draft")
def create_draft(request: HttpRequest, payload: DraftIn) -> Any:
    user = caller(request)
    draft = drafts.save_draft(user, **_draft_args(user, payload), request=request)
    return Status(201, shapes.draft_out(draft))


@router.put("/drafts/{draft_uuid}", response={200: DraftOut, **REFUSED}, summary="Save a draft")
def update_draft(
    request: HttpRequest,
    draft_uuid: UUID,
    payload: DraftIn,
    if_match: str | None = preconditions.if_match_header(),
) -> Any:
    user = caller(request)
    draft = drafts.get_draft(user, draft_uuid)
    draft = drafts.save_draft(
        user,
        draft=draft,
        **_draft_args(user, payload),
        expected_version=preconditions.expected_version(if_match),
        request=request,
    )
    return shapes.draft_out(draft)


@router.delete(
    "/drafts/{draft_uuid}",
    response={204: None, 401: Error, 404: Error, 422: Invalid},
    summary="Delete a draft",
)
def delete_draft(request: HttpRequest, draft_uuid: UUID) -> Any:
    user = caller(request)
    drafts.delete_draft(user, drafts.get_draft(user, draft_uuid), request=request)
    return HttpResponse(status=204)


@router.post("/drafts/{draft_uuid}/send", response=SENT, summary="Send a draft")
def send_draft(request: HttpRequest, draft_uuid: UUID) -> Any:
    user = caller(request)
    viewer = viewer_for(user)
    draft = drafts.get_draft(user, draft_uuid)
    message = drafts.send_draft(user, draft, request=request, viewer=viewer)
    return _sent(user, message, viewer)
