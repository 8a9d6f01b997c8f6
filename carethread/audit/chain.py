"""The hash of an audit entry: an HMAC-SHA-256 over the previous hash and a canonical JSON of the
entry, under a key from the key file (``keys``), never from the database.

* Keyed entries (``key_id`` set, the id of the key-file KEK the HMAC key is derived from):
  ``HMAC-SHA-256(key, "carethread:audit:v2\n" + prev_hash + "\n" + JSON)``, the JSON including
  ``key_id``.
* Legacy entries (``key_id`` empty, written before the chain was keyed):
  ``SHA-256(prev_hash + "\n" + JSON)``. They are accepted only before the first keyed entry,
  which links to the last of them and so seals them (see ``verify``).

``entry_hash(prev_hash, fields, key)`` is the one definition used both when writing
(``actions``) and when checking (``verify``). The canonical form must give the same bytes for
what was written and for what either database hands back, so:

* ``occurred_at`` is written as UTC ISO 8601 with microseconds (both databases keep microseconds);
* JSON keys are sorted, separators fixed, non-ASCII escaped;
* floats that are whole numbers are written as integers (PostgreSQL ``jsonb`` hands ``1e20`` back
  as an integer and has no negative zero); NaN and infinities are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
KEYED_PREFIX = "carethread:audit:v2\n"

HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "actor_role",
    "patient_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "source_address",
    "details",
)


def _canonical_time(value: datetime) -> str:
    # Microsecond precision in UTC: both databases store it exactly.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json_value(value: object) -> object:
    """``value`` with whole floats turned into ints, recursively (see the module docstring)."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("audit details cannot hold NaN or infinity")
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {str(k): canonical_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_json_value(v) for v in value]
    return value


def canonical_payload(fields: dict[str, Any], *, keyed: bool) -> str:
    body = {name: fields[name] for name in HASHED_FIELDS}
    body["occurred_at"] = _canonical_time(body["occurred_at"])
    body["details"] = canonical_json_value(body["details"])
    if keyed:
        body["key_id"] = fields["key_id"]
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def legacy_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """The unkeyed hash of an entry written before the chain was keyed."""
    payload = canonical_payload(fields, keyed=False)
    return hashlib.sha256((prev_hash + "\n" + payload).encode("ascii")).hexdigest()


def keyed_hash(key: bytes, prev_hash: str, fields: dict[str, Any]) -> str:
    """The HMAC of an entry sealed under ``key`` (``fields["key_id"]`` names it)."""
    if not fields.get("key_id"):
        raise ValueError("a keyed audit entry needs its key id")
    payload = canonical_payload(fields, keyed=True)
    message = (KEYED_PREFIX + prev_hash + "\n" + payload).encode("ascii")
    return hmac.digest(key, message, "sha256").hex()


def entry_hash(prev_hash: str, fields: dict[str, Any], key: bytes | None = None) -> str:
    """The keyed hash under ``key``, or the legacy one without a key."""
    if key is None:
        return legacy_hash(prev_hash, fields)
    return keyed_hash(key, prev_hash, fields)


#: The columns a check reads, in this order (``row_fields`` names them).
ROW_COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash", "key_id")


def row_fields(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(ROW_COLUMNS, row, strict=True))
