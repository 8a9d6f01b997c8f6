"""REST routes of the caller's email notification preferences: ``/api/me/notifications``.

``email`` turns emails on or off per kind (the kinds the caller can receive); ``sender_name``
agrees to emails naming the sender, which they do only where the practice agrees too. A PUT
changes only what it names; the change is audited (``notification.preference_changed``).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict, StrictBool

from carethread.api.auth import caller
from carethread.api.schemas import Body, Error, Invalid
from carethread.notifications import actions

router = Router(tags=["notifications"])


class NotificationPreferencesOut(Schema):
    email: dict[str, bool]
    sender_name: bool


class NotificationPreferencesIn(Body):
    model_config = ConfigDict(extra="forbid")

    email: dict[str, StrictBool] = {}
    sender_name: StrictBool | None = None


@router.get(
    "/me/notifications",
    response={200: NotificationPreferencesOut, 401: Error},
    summary="The caller's email notification preferences",
)
def get_preferences(request: HttpRequest) -> actions.Preferences:
    return actions.preferences(caller(request))


@router.put(
    "/me/notifications",
    response={200: NotificationPreferencesOut, 400: Error, 401: Error, 422: Invalid},
    summary="Change the caller's email notification preferences",
)
def put_preferences(
    request: HttpRequest, payload: NotificationPreferencesIn
) -> actions.Preferences:
    user = caller(request)
    known = actions.kinds_for(user)
    if any(kind not in known for kind in payload.email):
        raise HttpError(400, f"Unknown notification kind; the kinds are: {', '.join(known)}.")
    return actions.set_preferences(
        user, email=payload.email, sender_name=payload.sender_name, request=request
    )
