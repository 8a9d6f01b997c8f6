"""Shapes of the triage routes' requests and answers (identifiers are UUIDs)."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from ninja import Field, Schema

from carethread.api.schemas import Body, UtcDateTime


class NotFound(Schema):
    detail: str


# -- threads -------------------------------------------------------------------------------------


class ThreadState(Schema):
    uuid: UUID
    status: str
    assignee: UUID | None
    pool: UUID | None
    version: int
    awaiting_reply_since: dt.datetime | None
    reply_due_at: dt.datetime | None
    overdue: bool
    closed_at: dt.datetime | None


class AssignIn(Body):
    assignee: UUID | None


class StatusIn(Body):
    status: str = Field(..., max_length=16)


class NoteIn(Body):
    body: str = Field(..., max_length=20_000)


class NoteOut(Schema):
    uuid: UUID
    thread: UUID
    author: UUID
    created_at: dt.datetime


# -- templates -----------------------------------------------------------------------------------


class TemplateOut(Schema):
    uuid: UUID
    organization: UUID
    name: str
    category: str
    subject: str
    body: str
    active: bool


class TemplateIn(Body):
    organization: UUID
    name: str = Field(..., max_length=200)
    subject: str = Field("", max_length=400)
    body: str = Field(..., max_length=40_000)
    category: str = Field("", max_length=16)


class TemplatePatch(Body):
    name: str | None = Field(None, max_length=200)
    subject: str | None = Field(None, max_length=400)
    body: str | None = Field(None, max_length=40_000)
    category: str | None = Field(None, max_length=16)
    active: bool | None = None


class RenderedOut(Schema):
    subject: str
    body: str


# -- practice settings ---------------------------------------------------------------------------


class RoutingOut(Schema):
    category: str
    pool: UUID


class PoolOut(Schema):
    uuid: UUID
    name: str
    active: bool
    response_target_hours: int | None


class PracticeSettingsOut(Schema):
    organization: UUID
    messaging_enabled: bool
    expected_response_hours: int
    reply_window_days: int
    relationship_lookback_days: int
    auto_acknowledge: bool
    notify_sender_name: bool
    routing: list[RoutingOut]
    pools: list[PoolOut]


class PracticeSettingsIn(Body):
    """Only the fields sent are changed."""

    messaging_enabled: bool | None = None
    expected_response_hours: int | None = None
    reply_window_days: int | None = None
    relationship_lookback_days: int | None = None
    auto_acknowledge: bool | None = None
    notify_sender_name: bool | None = None


class RoutingIn(Body):
    pool: UUID


class ResponseTargetIn(Body):
    hours: int | None = Field(..., description="hours; null: the practice's target")


# -- out of office -------------------------------------------------------------------------------


class OutOfOfficeIn(Body):
    starts_at: UtcDateTime
    ends_at: UtcDateTime
    reply_text: str = Field("", max_length=1000)
    delegate: UUID | None = None


class OutOfOfficeOut(Schema):
    uuid: UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    reply_text: str
    delegate: UUID | None


# -- outreach ------------------------------------------------------------------------------------


class OutreachIn(Body):
    organization: UUID
    patients: list[UUID] = Field(..., max_length=100_000)
    category: str = Field(..., max_length=16)
    subject: str = Field(..., max_length=400)
    body: str = Field(..., max_length=40_000)
    on_behalf_of: UUID | None = None


class SkippedPatient(Schema):
    patient: UUID
    reason: str


class OutreachPreviewOut(Schema):
    uuid: UUID
    state: str
    reachable: int
    patients: list[UUID]
    skipped: list[SkippedPatient]
    counts: dict[str, int]
    sample: RenderedOut | None


class OutreachSentOut(Schema):
    uuid: UUID
    state: str
    messages: int
    threads: list[UUID]


class OutreachStateOut(Schema):
    uuid: UUID
    state: str
