"""The key file (``settings.CARETHREAD_KEY_FILE``, owner-only, never committed)::

    {"current": "kek-1a2b3c4d", "keys": {"kek-1a2b3c4d": "<base64 of 32 bytes>", ...}}

Its key-encryption keys (KEKs) wrap the data keys of encryption at rest (``crypto.keyring``) and
seal the audit trail (``audit.keys``). Reading it needs no app, so both read it from here.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

KEY_BYTES = 32


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
