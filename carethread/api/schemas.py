"""Shapes of the API's answers."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from ninja import Schema


class Me(Schema):
    uuid: UUID
    roles: list[str]
    organizations: list[UUID]


class TokenOut(Schema):
    uuid: UUID
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class Error(Schema):
    detail: str


class InvalidField(Schema):
    type: str
    loc: list[str | int]
    msg: str


class Invalid(Schema):
    """422: input that does not fit the route's parameters or body (never the value sent)."""

    detail: list[InvalidField]
