"""Invitation secrets: a long token for the emailed link and a short code for a printed letter.

Only keyed SHA-256 digests (HMAC-SHA-256 under a key derived from SECRET_KEY) are stored, so a
copy of the database does not reveal usable secrets and the short code cannot be brute-forced
offline without the server's key.
"""

from __future__ import annotations

import secrets

from django.utils.crypto import salted_hmac

# No 0/O, 1/I/L: easy to read aloud and to type from a letter.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
MAX_INPUT_LENGTH = 64


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(code: str) -> str:
    """Upper-case, without spaces or dashes; anything outside the alphabet makes it invalid."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -\t")
    if len(cleaned) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in cleaned):
        return ""
    return cleaned


def digest(kind: str, value: str) -> str:
    return salted_hmac(f"carethread.invitation.{kind}", value, algorithm="sha256").hexdigest()


def token_digest(token: str) -> str:
    return digest("token", token[:MAX_INPUT_LENGTH])


def code_digest(code: str) -> str:
    return digest("code", normalise_code(code))


def email_digest(address: str) -> str:
    """The keyed digest of an address (trimmed, case-insensitive): what a representative's
    invitation keeps of the address it was sent to."""
    return digest("email", address.strip().lower()[:254])
