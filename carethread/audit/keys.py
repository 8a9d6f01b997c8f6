"""The audit trail's HMAC keys, from the key file (``CARETHREAD_KEY_FILE``), never the database.

Each key-encryption key (KEK) of the key file (``carethread.keyfile``) yields two audit keys
with HKDF (``audit_key``): one for the chain, one for checkpoints. An entry or checkpoint names the
KEK id it was sealed under; new ones use the file's ``current`` KEK. Keys are derived once per
version of the key file: the file is re-read when its size or modification time changes, so a
rotation (a new ``current``) is picked up by running processes at their next entry.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from carethread.keyfile import KEY_BYTES, KeyFile, KeyRingError, load_key_file

CHAIN = "chain"
CHECKPOINT = "checkpoint"
AUDIT_KEY_INFO = b"carethread:audit:v1|"

_lock = threading.Lock()
_file: tuple[tuple[str, int, int, int], KeyFile] | None = None
_derived: dict[tuple[str, str, bytes], bytes] = {}


def _signature(path: Path) -> tuple[str, int, int, int]:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise KeyRingError(f"cannot read key file {path}: {exc.strerror}") from None
    return (str(path), st.st_mtime_ns, st.st_size, st.st_ino)


def key_file() -> KeyFile:
    """The key file, loaded again only when it changed on disk."""
    global _file
    path = Path(settings.CARETHREAD_KEY_FILE)
    signature = _signature(path)
    with _lock:
        cached = _file
    if cached is not None and cached[0] == signature:
        return cached[1]
    loaded = load_key_file(path)
    with _lock:
        _file = (signature, loaded)
    return loaded


def audit_key(keys: KeyFile, kek_id: str, purpose: str) -> bytes:
    """The audit trail's HMAC key for ``purpose`` (``CHAIN`` or ``CHECKPOINT``), derived from KEK
    ``kek_id`` with HKDF-SHA-256 under its own label: never the KEK itself, and one key per
    purpose. Raises ``KeyRingError`` if the key file has no such KEK."""
    info = AUDIT_KEY_INFO + purpose.encode("ascii") + b"|" + kek_id.encode("ascii")
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(
        keys.kek(kek_id)
    )


def _derive(keys: KeyFile, key_id: str, purpose: str) -> bytes:
    kek = keys.keys[key_id]
    cache_key = (purpose, key_id, kek)
    with _lock:
        cached = _derived.get(cache_key)
    if cached is None:
        cached = audit_key(keys, key_id, purpose)
        with _lock:
            _derived[cache_key] = cached
    return cached


def current(purpose: str = CHAIN) -> tuple[str, bytes]:
    """(key id, key) that new entries (or checkpoints) are sealed under."""
    keys = key_file()
    return keys.current, _derive(keys, keys.current, purpose)


def by_id(key_id: str, purpose: str = CHAIN) -> bytes | None:
    """The key an entry (or checkpoint) names, or None if the key file no longer holds it."""
    keys = key_file()
    if key_id not in keys.keys:
        return None
    return _derive(keys, key_id, purpose)


def clear_cache() -> None:
    global _file
    with _lock:
        _file = None
        _derived.clear()
