"""Shapes of the messaging API (requests and answers), and the functions that fill them for one
viewer: what the patient side sees of a thread is less than what the practice sees (no MRN, no
pool or assignee, no internal notes, no text of retracted messages)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal, Protocol
from uuid import UUID

from ninja import Field, Schema
from pydantic import ConfigDict

from carethread.api.schemas import Body, Input, UtcDateTime
from carethread.core.json import JsonObject
from carethread.core.models import Organization
from carethread.messaging.models import Attachment, Category, Draft, Side, Thread
from carethread.messaging.queries import MAX_PAGE, PAGE, MessageView

# The boxes of ``queries.inbox`` (a test checks the two lists agree).
Box = Literal["mine", "assigned", "pool", "patient", "all"]

MAX_RECIPIENTS = 20
MAX_ATTACHMENTS = 20
MAX_READINGS = 10


# -- answers ---------------------------------------------------------------------------------


class Named(Schema):
    uuid: UUID
    name: str


class PatientRef(Schema):
    """The patient a thread is about. ``mrn`` is shown to the practice side only."""

    uuid: UUID
    mrn: str | None = None
    name: str


class ThreadOut(Schema):
    uuid: UUID
    subject: str
    category: str
    status: str
    kind: str
    patient: PatientRef
    organization: Named
    # The practice's triage state: null for the patient side.
    pool: Named | None = None
    assignee: Named | None = None
    includes_patient: bool
    private: bool
    last_message_at: dt.datetime
    reply_due_at: dt.datetime | None = None
    overdue: bool
    version: int


class InboxRowOut(ThreadOut):
    unread: int


class InboxOut(Schema):
    threads: list[InboxRowOut]
    unread_total: int
    # Pass as ``before`` for the next page; null on the last page.
    next_before: str | None = None


class SenderOut(Schema):
    kind: str
    label: str


class AttachmentOut(Schema):
    uuid: UUID
    filename: str
    content_type: str
    size: int


class MessageOut(Schema):
    uuid: UUID
    identifier: str
    sender: SenderOut
    side: str
    # Null when the message was retracted and the caller is on the patient side.
    body: str | None
    readings: list[dict[str, Any]]
    sent_at: dt.datetime | None
    status: str
    retracted: bool
    in_response_to: UUID | None = None
    # The read receipt: when the other side first read it.
    read_at: dt.datetime | None = None
    attachments: list[AttachmentOut]


class NoteOut(Schema):
    uuid: UUID
    author: Named
    body: str
    created_at: dt.datetime


class ThreadViewOut(Schema):
    thread: ThreadOut
    side: str
    messages: list[MessageOut]
    # Internal notes: practice side only (null for the patient side).
    notes: list[NoteOut] | None = None
    can_reply: bool
    reason: str | None = None


class SentOut(Schema):
    thread: ThreadOut
    message: MessageOut


class ReadOut(Schema):
    unread: int
    receipts: int


class RecipientOut(Schema):
    uuid: UUID
    name: str
    organization: Named


class RecipientsOut(Schema):
    practitioners: list[RecipientOut]
    pools: list[RecipientOut]


# -- requests --------------------------------------------------------------------------------


class InboxQuery(Input):
    box: Box = "mine"
    pool: UUID | None = None
    status: Thread.Status | None = None
    category: Category | None = None
    patient: UUID | None = None
    assignee: UUID | None = None
    unread: bool | None = None
    overdue: bool | None = None
    before: UtcDateTime | None = None
    limit: int = Field(PAGE, ge=1, le=MAX_PAGE)


class ReadingIn(Body):
    """A home reading: blood-pressure (systolic, diastolic), blood-glucose or weight (value)."""

    kind: str = Field(max_length=32)
    systolic: float | None = Field(None, strict=True)
    diastolic: float | None = Field(None, strict=True)
    value: float | None = Field(None, strict=True)
    unit: str = Field("", max_length=16)
    taken_at: UtcDateTime | None = None

    def as_action_input(self) -> JsonObject:
        row: JsonObject = {"kind": self.kind, "unit": self.unit}
        for name in ("systolic", "diastolic", "value"):
            number = getattr(self, name)
            if number is not None:
                row[name] = int(number) if float(number).is_integer() else number
        if self.taken_at is not None:
            row["taken_at"] = self.taken_at.isoformat()
        return row


class StartIn(Body):
    patient: UUID
    category: str = Field(max_length=32)
    subject: str
    body: str
    to_practitioners: list[UUID] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    to_pool: UUID | None = None
    organization: UUID | None = None
    include_patient: bool = True
    private: bool = False
    on_behalf_of: UUID | None = None
    attachments: list[UUID] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    readings: list[ReadingIn] = Field(default_factory=list, max_length=MAX_READINGS)


class ReplyIn(Body):
    body: str
    in_response_to: UUID | None = None
    on_behalf_of: UUID | None = None
    attachments: list[UUID] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    readings: list[ReadingIn] = Field(default_factory=list, max_length=MAX_READINGS)


class DraftRecipients(Body):
    """Kept as they are with the draft: unknown keys are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")

    practitioners: list[UUID] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    pool: UUID | None = None
    organization: UUID | None = None
    on_behalf_of: UUID | None = None
    in_response_to: UUID | None = None
    attachments: list[UUID] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    include_patient: bool = True
    private: bool = False


class DraftIn(Body):
    """A reply draft names ``thread``; a new-thread draft names ``patient``."""

    thread: UUID | None = None
    patient: UUID | None = None
    recipients: DraftRecipients = Field(default_factory=DraftRecipients)
    category: str = Field("", max_length=32)
    subject: str = ""
    body: str = ""


class DraftOut(Schema):
    uuid: UUID
    thread: UUID | None = None
    patient: Named | None = None
    recipients: DraftRecipients
    category: str
    subject: str
    body: str
    updated_at: dt.datetime
    version: int


# -- filling the answers ---------------------------------------------------------------------


class Identified(Protocol):
    """A row known to clients by its UUID (an organisation, a pool, a practitioner, a patient)."""

    @property
    def uuid(self) -> UUID: ...


def named(row: Identified | None, name: str) -> dict[str, object] | None:
    return None if row is None else {"uuid": row.uuid, "name": name}


def thread_out(thread: Thread, subject: str, side: str | None, now: dt.datetime) -> dict[str, Any]:
    """One thread as ``side`` sees it (``thread`` with patient, organisation, pool, assignee
    loaded)."""
    practice = side == Side.PRACTICE
    patient = thread.patient
    return {
        "uuid": thread.uuid,
        "subject": subject,
        "category": thread.category,
        "status": thread.status,
        "kind": thread.kind,
        "patient": {
            "uuid": patient.uuid,
            "mrn": patient.mrn if practice else None,
            "name": patient.display_name,
        },
        "organization": named(thread.organization, thread.organization.name),
        "pool": named(thread.pool, thread.pool.name) if practice and thread.pool else None,
        "assignee": (
            named(thread.assignee, thread.assignee.display_name)
            if practice and thread.assignee
            else None
        ),
        "includes_patient": thread.includes_patient,
        "private": thread.private_from_representatives,
        "last_message_at": thread.last_message_at,
        "reply_due_at": thread.reply_due_at,
        "overdue": thread.reply_due_at is not None and thread.reply_due_at < now,
        "version": thread.version,
    }


def attachment_out(attachment: Attachment, filename: str) -> dict[str, Any]:
    return {
        "uuid": attachment.uuid,
        "filename": filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }


def message_out(view: MessageView, uuids: dict[int, UUID]) -> dict[str, Any]:
    """A message; ``uuids`` maps message ids of the thread to UUIDs (for ``in_response_to``)."""
    message = view.message
    return {
        "uuid": message.uuid,
        "identifier": message.identifier,
        "sender": {"kind": message.sender_kind, "label": view.sender_label},
        "side": view.side,
        "body": view.body,
        "readings": view.readings,
        "sent_at": message.sent_at,
        "status": message.status,
        "retracted": message.is_retracted,
        "in_response_to": uuids.get(message.in_response_to_id)
        if message.in_response_to_id
        else None,
        "read_at": message.first_read_at,
        "attachments": [attachment_out(a, name) for a, name in view.attachments],
    }


def draft_out(draft: Draft) -> dict[str, Any]:
    patient = draft.patient
    return {
        "uuid": draft.uuid,
        "thread": draft.thread.uuid if draft.thread_id and draft.thread else None,
        "patient": named(patient, patient.display_name) if patient is not None else None,
        "recipients": draft.recipients or {},
        "category": draft.category,
        "subject": draft.unseal("subject_ct") or "",
        "body": draft.unseal("body_ct") or "",
        "updated_at": draft.updated_at,
        "version": draft.version,
    }


def recipient_rows(
    rows: Iterable[tuple[Identified, str, Organization]],
) -> list[dict[str, Any]]:
    """(row, its name, its organisation) -> recipient entries, each once."""
    seen: dict[Any, dict[str, Any]] = {}
    for row, name, organization in rows:
        seen.setdefault(
            (row.uuid, organization.uuid),
            {
                "uuid": row.uuid,
                "name": name,
                "organization": named(organization, organization.name),
            },
        )
    return list(seen.values())
