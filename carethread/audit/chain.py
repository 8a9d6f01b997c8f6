"""The hash of an audit entry: SHA-256 over the previous hash and a canonical JSON of the entry.

``entry_hash(prev_hash, fields)`` is the one definition used both when writing (``actions``)
and when checking (``verify``). The canonical form must give the same bytes for what was written
and for what either database hands back, so:

* ``occurred_at`` is written as UTC ISO 8601 with microseconds (both databases keep microseconds);
* JSON keys are sorted, separators fixed, non-ASCII escaped;
* floats that are whole numbers are written as integers (PostgreSQL ``jsonb`` hands ``1e20`` back
  as an integer and has no negative zero); NaN and infinities are refused.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

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


def canonical_json_value(value: Any) -> Any:
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


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = {name: fields[name] for name in HASHED_FIELDS}
    body["occurred_at"] = _canonical_time(body["occurred_at"])
    body["details"] = canonical_json_value(body["details"])
    payload = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
    return hashlib.sha256((prev_hash + "\n" + payload).encode("ascii")).hexdigest()
