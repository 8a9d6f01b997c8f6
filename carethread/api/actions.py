"""Every write of the api app: creating and revoking personal API tokens.

Each function runs in one transaction and writes its audit entry in that transaction. Audit
details hold codes and counts only (never the token, its prefix or its name).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from allauth.mfa.models import Authenticator
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from carethread.accounts import roles
from carethread.api import tokens
from carethread.api.auth import user_may_use_api
from carethread.api.models import ApiToken
from carethread.audit import codes
from carethread.audit.actions import record
from carethread.core.text import text_problem

if TYPE_CHECKING:
    from carethread.accounts.models import User

MAX_NAME_LENGTH = 100
MAX_ACTIVE_TOKENS = 20


class TokenError(Exception):
    """Token creation refused; ``code`` says why (not_allowed, mfa_required, name, expires_at,
    too_many)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def token_expiry(
    now: dt.datetime, *, lifetime_days: int, expires_at: dt.datetime | None
) -> dt.datetime:
    """When a new token expires: ``expires_at`` if given (in the future, within the longest
    lifetime), else ``lifetime_days`` (one of ``tokens.LIFETIME_DAYS``) from now."""
    longest = now + dt.timedelta(days=max(tokens.LIFETIME_DAYS))
    if expires_at is not None:
        if not now < expires_at <= longest:
            raise TokenError("expires_at")
        return expires_at
    if lifetime_days not in tokens.LIFETIME_DAYS:
        raise TokenError("expires_at")
    return now + dt.timedelta(days=lifetime_days)


def create_token(
    user: User,
    name: str,
    *,
    lifetime_days: int = tokens.DEFAULT_LIFETIME_DAYS,
    expires_at: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the token string (shown once).

    It expires after ``lifetime_days`` (one of ``tokens.LIFETIME_DAYS``, default 90), or at
    ``expires_at`` when that is given."""
    name = (name or "").strip()
    now = timezone.now()
    if not user_may_use_api(user):
        raise TokenError("not_allowed")
    if not name or len(name) > MAX_NAME_LENGTH or text_problem(name) is not None:
        raise TokenError("name")
    expires_at = token_expiry(now, lifetime_days=lifetime_days, expires_at=expires_at)
    if (
        roles.is_practice_user(user)
        and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    ):
        raise TokenError("mfa_required")
    with transaction.atomic():
        active = ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now)
        if active.count() >= MAX_ACTIVE_TOKENS:
            raise TokenError("too_many")
        raw = tokens.new_token()
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=raw[: tokens.PREFIX_LENGTH],
            token_hash=tokens.token_hash(raw),
            created_at=now,
            expires_at=expires_at,
        )
        record(
            codes.API_TOKEN_CREATED,
            actor=user,
            request=request,
            obj=token,
            details={"lifetime_days": (expires_at - now).days},
        )
    return token, raw


def revoke_token(token: ApiToken, *, actor: User, request: HttpRequest | None = None) -> bool:
    """Revoke ``token``; returns False if it was already revoked (nothing written)."""
    with transaction.atomic():
        now = timezone.now()
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not changed:
            return False
        token.revoked_at = now
        record(
            codes.API_TOKEN_REVOKED,
            actor=actor,
            request=request,
            obj=token,
            details={"own": getattr(actor, "pk", None) == token.user_id},
        )
    return True
