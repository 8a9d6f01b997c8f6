"""AES-256-GCM encryption of single values, bound to their table, row and field.

Envelope (bytes, stored in a ``BinaryField``)::

    version (1 byte, 0x01) | key id length L (1 byte) | key id (L ASCII bytes)
    | nonce (12 random bytes) | ciphertext | tag (16 bytes)

Associated data (authenticated, not stored)::

    b"carethread:v1|" + table + b"|" + row + b"|" + field + b"|" + key id

so a ciphertext copied to another row or field, or relabelled with another key id, fails to
decrypt. Every failure (bad tag, unknown key id, malformed envelope) raises ``IntegrityFailure``
and ``decrypt_value`` records a ``crypto.integrity_failure`` audit event: a value is never shown
as garbage and never silently skipped.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from carethread.crypto import keyring

VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
AAD_PREFIX = b"carethread:v1"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ROW = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEY_ID = re.compile(rb"^[A-Za-z0-9_-]{1,32}$")


class IntegrityFailure(Exception):
    """A stored value failed authentication or cannot be parsed: it must not be used."""

    def __init__(self, reason: str, *, key_id: str = "") -> None:
        # reason is a code: bad_version, malformed, truncated, bad_tag, unknown_key
        super().__init__(f"encrypted value failed its integrity check ({reason})")
        self.reason = reason
        self.key_id = key_id


# Low level: key, nonce and associated data given (the NIST vectors drive these) ------------


def seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: ciphertext followed by the 16-byte tag."""
    if len(key) != 32 or len(nonce) != NONCE_BYTES:
        raise ValueError("AES-256-GCM needs a 32-byte key and a 12-byte nonce")
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, nonce: bytes, ciphertext_and_tag: bytes, aad: bytes) -> bytes:
    """The plaintext, or ``IntegrityFailure`` if the tag does not verify."""
    if len(key) != 32 or len(nonce) != NONCE_BYTES:
        raise ValueError("AES-256-GCM needs a 32-byte key and a 12-byte nonce")
    if len(ciphertext_and_tag) < TAG_BYTES:
        raise IntegrityFailure("truncated")
    try:
        return AESGCM(key).decrypt(nonce, ciphertext_and_tag, aad)
    except InvalidTag:
        raise IntegrityFailure("bad_tag") from None


# Envelope -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    key_id: str
    nonce: bytes
    ciphertext: bytes  # with the tag

    def to_bytes(self) -> bytes:
        kid = self.key_id.encode("ascii")
        return bytes([VERSION, len(kid)]) + kid + self.nonce + self.ciphertext

    @classmethod
    def parse(cls, data: bytes | memoryview) -> Envelope:
        data = bytes(data)
        if len(data) < 2 or data[0] != VERSION:
            raise IntegrityFailure("bad_version")
        end = 2 + data[1]
        kid = data[2:end]
        if not _KEY_ID.match(kid) or len(data) < end + NONCE_BYTES + TAG_BYTES:
            raise IntegrityFailure("malformed envelope")
        return cls(kid.decode("ascii"), data[end : end + NONCE_BYTES], data[end + NONCE_BYTES :])


def envelope_key_id(data: bytes | memoryview) -> str:
    """The key id of a stored envelope (``IntegrityFailure`` if malformed)."""
    return Envelope.parse(data).key_id


def binding(*, table: str, row: object, field: str, key_id: str) -> bytes:
    """The associated data that ties a value to its place."""
    row_text = str(row)
    if not _NAME.match(table) or not _NAME.match(field):
        raise ValueError("table and field must be lowercase identifiers")
    if not _ROW.match(row_text):
        raise ValueError("row must be a UUID or a primary key")
    return b"|".join(
        [AAD_PREFIX, table.encode(), row_text.encode(), field.encode(), key_id.encode()]
    )


def _plain_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def encrypt_with(key_id: str, key: bytes, plaintext: bytes | str, **where: object) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = binding(key_id=key_id, **where)  # type: ignore[arg-type]
    return Envelope(key_id, nonce, seal(key, nonce, _plain_bytes(plaintext), aad)).to_bytes()


def encrypt_value(plaintext: bytes | str, *, table: str, row: object, field: str) -> bytes:
    """Encrypt under the current data key; ``row`` is the row's UUID (known before the insert)."""
    key_id, key = keyring.current_data_key()
    return encrypt_with(key_id, key, plaintext, table=table, row=row, field=field)


def decrypt_value(
    envelope: bytes | memoryview, *, table: str, row: object, field: str, audit: bool = True
) -> bytes:
    """The plaintext bytes, or ``IntegrityFailure`` (recorded in the audit trail).

    Call it outside a transaction, or catch ``IntegrityFailure`` inside it: an exception that
    rolls the transaction back also rolls back the audit event.
    """
    key_id = ""
    try:
        parsed = Envelope.parse(envelope)
        key_id = parsed.key_id
        key = keyring.data_key(key_id)
        if key is None:
            raise IntegrityFailure("unknown_key", key_id=key_id)
        aad = binding(table=table, row=row, field=field, key_id=key_id)
        return unseal(key, parsed.nonce, parsed.ciphertext, aad)
    except IntegrityFailure as failure:
        failure.key_id = failure.key_id or key_id
        if audit:
            from carethread.crypto.actions import record_integrity_failure

            record_integrity_failure(failure, table=table, row=row, field=field)
        raise
