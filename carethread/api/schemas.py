"""Shapes of the API's answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from uuid import UUID

from ninja import Schema
from pydantic import AfterValidator, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from carethread.core.text import problem_in
from carethread.core.validators import check_instant


def _in_utc(value: dt.datetime) -> dt.datetime:
    """A date-time within the range every date from outside must fall in (``core.validators``),
    moved to UTC when aware: the databases store it so, and PostgreSQL refuses an offset past
    15:59. A naive one is left to the route."""
    return check_instant(value)


# A date-time a client sends: refused with a 422, not a database error, when out of range.
UtcDateTime = Annotated[dt.datetime, AfterValidator(_in_utc)]


class Input(Schema):
    """What a client sends (a body, an object inside one, or a route's query parameters): every
    string in it, however deep, is text as ``core.text`` accepts it, else a 422 naming the
    field."""

    @field_validator("*", mode="after")
    @classmethod
    def _text_only(cls, value: object, info: ValidationInfo) -> object:
        problem = problem_in(value)
        if problem is not None:
            raise PydanticCustomError("bad_characters", "The text {problem}.", {"problem": problem})
        return value


class Body(Input):
    """A request body, or an object inside one: a JSON object. (ninja's ``Schema`` reads any
    other value, ``[]`` or ``5``, as an object with every field left out.)"""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: object) -> object:
        # ninja hands the value over wrapped in its DjangoGetter.
        if not isinstance(getattr(data, "_obj", data), dict):
            raise ValueError("Input should be a JSON object.")
        return data


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
    expires_at: dt.datetime
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


class Refusal(Schema):
    """A refused request: a PHI-free sentence and a stable code (``MessagingError``)."""

    detail: str
    code: str


# The refusals every messaging and triage route may answer with. A body that is not JSON, or
# breaks Django's request limits, is refused before the route runs: ``{"detail"}`` without a
# code, hence ``Refusal | Error`` for 400.
REFUSED: dict[int, Any] = {
    400: Refusal | Error,
    401: Error,
    403: Refusal,
    404: Error,
    409: Refusal,
    422: Invalid,
}
