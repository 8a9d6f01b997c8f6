"""How API callers authenticate: a personal token (``Authorization: Bearer ct_...``) or the
browser session (with Django's CSRF check on unsafe methods).

Both refuse inactive and blocked users. A token's ``last_used_at`` is written at most once a
minute, so a busy client does not turn every read into a write.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from carethread.accounts.models import User
from carethread.api import tokens
from carethread.api.models import ApiToken

LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


def user_may_use_api(user: User | AnonymousUser | None) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and getattr(user, "blocked_at", None) is None
    )


class TokenAuth(HttpBearer):
    """Personal API tokens."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        token = token.strip()
        if not tokens.looks_like_token(token):
            return None
        row = (
            # The roles are read by almost every route: fetch them with the token.
            ApiToken.objects.select_related("user__patient", "user__practitioner")
            .filter(token_hash=tokens.token_hash(token))
            .first()
        )
        now = timezone.now()
        if row is None or not row.is_usable_at(now) or not user_may_use_api(row.user):
            return None
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


class BrowserSessionAuth(SessionAuth):
    """The Django session; ninja checks the CSRF token for unsafe methods before this runs."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a signed-in session there is nothing to protect: answer 401, not a CSRF 403.
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = request.user
        if not user.is_authenticated or not user_may_use_api(user):
            return None
        request.api_token = None  # type: ignore[attr-defined]
        return user


def default_auth() -> list[HttpBearer | SessionAuth]:
    return [TokenAuth(), BrowserSessionAuth()]


def caller(request: HttpRequest) -> User:
    """The user the route's authenticator accepted (ninja keeps it as ``request.auth``)."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise AuthenticationError
    return user
