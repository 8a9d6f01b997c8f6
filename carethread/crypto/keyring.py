"""The key ring: the key-encryption keys (KEKs) from the key file and the data keys (DEKs).

Key file (``settings.CARETHREAD_KEY_FILE``, owner-only, never committed)::

    {"current": "kek-1a2b3c4d", "keys": {"kek-1a2b3c4d": "<base64 of 32 bytes>", ...}}

A DEK is wrapped as ``nonce (12) || AES-256-GCM(KEK, nonce, DEK, aad)`` with
``aad = b"carethread:dek:v1|" + dek_id``. Unwrapped DEKs are cached in process memory by id
(they never change). The id of the current DEK is cached for ``CURRENT_KEY_TTL`` seconds, and only
once the transaction that read or created it has committed, so a rolled-back key is never used.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction

from carethread.crypto.models import DataKey

KEY_BYTES = 32
NONCE_BYTES = 12
WRAP_AAD_PREFIX = b"carethread:dek:v1|"
AUDIT_KEY_INFO = b"carethread:audit:v1|"
CURRENT_KEY_TTL = 30.0


class KeyRingError(RuntimeError):
    """The key file is missing, malformed, or does not match the keys in the database."""


@dataclass(frozen=True)
class KeyFile:
    path: Path
    current: str
    keys: dict[str, bytes]

    def kek(self, kek_id: str) -> bytes:
        try:
            return self.keys[kek_id]
        except KeyError:
            raise KeyRingError(
                f"key file {self.path} has no key-encryption key {kek_id!r}, which wraps data "
                "keys in the database: restore it to the key file"
            ) from None


def load_key_file(path: Path | str | None = None) -> KeyFile:
    """Read and check the key file; every problem raises ``KeyRingError`` naming the file."""
    path = Path(path if path is not None else settings.CARETHREAD_KEY_FILE)
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise KeyRingError(f"cannot read key file {path}: {exc.strerror}") from None
    except ValueError:
        raise KeyRingError(f"key file {path} is not valid JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), dict):
        raise KeyRingError(f'key file {path} must hold {{"current": ID, "keys": {{ID: KEY}}}}')
    keys: dict[str, bytes] = {}
    for kek_id, encoded in raw["keys"].items():
        try:
            key = base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES or not 0 < len(kek_id) <= 32:
            raise KeyRingError(f"key file {path}: key {kek_id!r} must be base64 of 32 bytes")
        keys[kek_id] = key
    current = raw.get("current")
    if not isinstance(current, str) or current not in keys:
        raise KeyRingError(f'key file {path}: "current" must name one of its keys')
    return KeyFile(path=path, current=current, keys=keys)


def audit_key(key_file: KeyFile, kek_id: str, purpose: str) -> bytes:
    """The audit trail's HMAC key for ``purpose`` ("chain" or "checkpoint"), derived from KEK
    ``kek_id`` with HKDF-SHA-256 under its own label: never the KEK itself, and one key per
    purpose. Raises ``KeyRingError`` if the key file has no such KEK."""
    info = AUDIT_KEY_INFO + purpose.encode("ascii") + b"|" + kek_id.encode("ascii")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(
        key_file.kek(kek_id)
    )


def _wrap_aad(dek_id: str) -> bytes:
    return WRAP_AAD_PREFIX + dek_id.encode("ascii")


def wrap(kek: bytes, dek_id: str, dek: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, dek, _wrap_aad(dek_id))


def unwrap(key_file: KeyFile, kek_id: str, dek_id: str, wrapped: bytes) -> bytes:
    kek = key_file.kek(kek_id)
    try:
        dek = AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrap_aad(dek_id))
    except (InvalidTag, ValueError):
        raise KeyRingError(
            f"data key {dek_id} cannot be unwrapped with key-encryption key {kek_id} from "
            f"{key_file.path}: the key file does not match this database (wrong or changed key)"
        ) from None
    if len(dek) != KEY_BYTES:
        raise KeyRingError(f"data key {dek_id} has the wrong length")
    return dek


def new_key_id() -> str:
    return "dek-" + secrets.token_hex(6)


_lock = threading.Lock()
_deks: dict[str, bytes] = {}
_current: tuple[str, bytes, float] | None = None


def clear_cache() -> None:
    """Forget every unwrapped key (tests; after the key file changed)."""
    global _current
    with _lock:
        _deks.clear()
        _current = None


def _unwrap_row(row: DataKey, key_file: KeyFile | None = None) -> bytes:
    key = unwrap(key_file or load_key_file(), row.kek_id, row.key_id, bytes(row.wrapped_key))
    with _lock:
        _deks[row.key_id] = key
    return key


def data_key(key_id: str) -> bytes | None:
    """The unwrapped DEK with this id, or None if the database has no such key."""
    with _lock:
        cached = _deks.get(key_id)
    if cached is not None:
        return cached
    row = DataKey.objects.filter(key_id=key_id).first()
    return None if row is None else _unwrap_row(row)


def _remember_current(key_id: str, key: bytes) -> None:
    global _current
    with _lock:
        _current = (key_id, key, time.monotonic() + CURRENT_KEY_TTL)


def create_data_key(key_file: KeyFile | None = None) -> DataKey:
    """Insert a new DEK as ``current`` (the caller demotes the old one first, same transaction)."""
    key_file = key_file or load_key_file()
    dek = secrets.token_bytes(KEY_BYTES)
    key_id = new_key_id()
    row = DataKey.objects.create(
        key_id=key_id,
        wrapped_key=wrap(key_file.kek(key_file.current), key_id, dek),
        kek_id=key_file.current,
        state=DataKey.State.CURRENT,
    )
    with _lock:
        _deks[key_id] = dek
    return row


def current_data_key() -> tuple[str, bytes]:
    """(id, key) of the DEK new values are encrypted under; the first one is made on first use."""
    with _lock:
        current = _current
    if current is not None and current[2] > time.monotonic():
        return current[0], current[1]
    row = DataKey.objects.filter(state=DataKey.State.CURRENT).first()
    if row is None:
        try:
            with transaction.atomic():
                row = create_data_key()
        except IntegrityError:  # another process made the first key at the same moment
            row = DataKey.objects.get(state=DataKey.State.CURRENT)
    key = data_key(row.key_id)
    assert key is not None
    key_id = row.key_id
    transaction.on_commit(lambda: _remember_current(key_id, key))
    return key_id, key
