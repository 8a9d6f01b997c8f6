"""The hash of an audit entry: SHA-256 over the previous hash and a canonical JSON of the entry."""

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


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = {name: fields[name] for name in HASHED_FIELDS}
    body["occurred_at"] = _canonical_time(body["occurred_at"])
    payload = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256((prev_hash + "\n" + payload).encode("ascii")).hexdigest()
