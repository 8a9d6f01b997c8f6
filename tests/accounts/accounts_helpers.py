"""Helpers shared by the accounts tests (imported by name: tests/accounts is on sys.path)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import struct
import time

from allauth.mfa.models import Authenticator

PASSWORD = "correct-horse-battery-42"
DOB = dt.date(1979, 4, 12)


def totp_code(secret: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits), as authenticator apps compute it."""
    if at is None and 30 - time.time() % 30 < 2:
        time.sleep(30 - time.time() % 30 + 0.1)  # not a code about to expire
    counter = int((time.time() if at is None else at) // 30)
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def secret_from_page(html: str) -> str:
    match = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', html) or re.search(
        r'value="([A-Z2-7]{32})"', html
    )
    assert match, "the TOTP secret is shown on the activation page"
    return match.group(1)


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def login(client, email, password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"login": email, "password": password}, **extra)
