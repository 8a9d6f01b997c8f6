"""Token strings: ``ct_`` followed by 43 URL-safe random characters (256 bits).

The database keeps only ``HMAC-SHA-256(key, token)`` where the key is derived from SECRET_KEY
(Django's ``salted_hmac`` with a fixed salt), so a copy of the database alone cannot be used to
check guesses. Changing SECRET_KEY invalidates every token. Every token expires
(``LIFETIME_DAYS``); an expired token is refused like an unknown one.
"""

from __future__ import annotations

import secrets

from django.utils.crypto import salted_hmac

TOKEN_PREFIX = "ct_"  # noqa: S105  (a public marker, not a secret)
PREFIX_LENGTH = 8
KEY_SALT = "carethread.api.token"
# Every token expires: its lifetime is chosen at creation from these (days).
LIFETIME_DAYS = (7, 30, 90, 365)
DEFAULT_LIFETIME_DAYS = 90


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return salted_hmac(KEY_SALT, token, algorithm="sha256").hexdigest()


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and 20 <= len(value) <= 100
