"""The key ring: the data keys (DEKs), wrapped by the key-encryption keys (KEKs) of the key
file (``carethread.keyfile``).

A DEK is wrapped as ``nonce (12) || AES-256-GCM(KEK, nonce, DEK, aad)`` with
``aad = b"carethread:dek:v1|" + dek_id``. Unwrapped DEKs are cached in process memory by id
(they never change). The id of the current DEK is cached for ``CURRENT_KEY_TTL`` seconds, and only
once the transaction that read or created it has committed, so a rolled-back key is never used.
"""

from __future__ import annotations

import secrets
import threading
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, transaction

from carethread.crypto.models import DataKey
from carethread.keyfile import KEY_BYTES, KeyFile, KeyRingError, load_key_file

NONCE_BYTES = 12
WRAP_AAD_PREFIX = b"carethread:dek:v1|"
CURRENT_KEY_TTL = 30.0


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
