"""Checkpoints of the audit chain head, kept outside the database.

A checkpoint says "at time T the trail ended at entry ``seq`` with hash ``hash``", sealed with an
HMAC under the key file's checkpoint key (``keys.CHECKPOINT``, never the chain key). Each one is
appended as a JSON line to the checkpoint file (``CARETHREAD_AUDIT_CHECKPOINT_FILE``, default
``$CARETHREAD_VAR_DIR/audit-checkpoints.jsonl``, owner-only) and logged as the same line
(logger ``carethread.audit.checkpoints``), so a log server keeps a copy. Written by
``carethread audit verify`` (after a successful walk), daily by ``carethread worker``
(``daily``), and when a legacy trail is keyed (migration ``0003``).

``audit verify`` checks every checkpoint: its HMAC, that the trail still reaches its ``seq``
(a truncated, emptied or restored-from-backup trail does not), and that the entry there still
has its hash (a rebuilt trail does not).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from carethread.audit import keys
from carethread.audit.chain import ROW_COLUMNS as COLUMNS
from carethread.audit.chain import keyed_hash, row_fields
from carethread.audit.models import AuditChainHead, AuditEvent
from carethread.keyfile import KeyRingError

log = logging.getLogger(__name__)

MAC_PREFIX = "carethread:audit-checkpoint:v1\n"
SEALED_FIELDS = ("seq", "hash", "at", "reason", "key_id")
DAILY = dt.timedelta(days=1)
RETRY_AFTER_FAILURE = dt.timedelta(hours=1)


class CheckpointFileError(RuntimeError):
    """The checkpoint file exists but cannot be read."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    reason: str
    key_id: str
    mac: str

    def sealed(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SEALED_FIELDS}

    def line(self) -> str:
        return json.dumps({**self.sealed(), "mac": self.mac}, sort_keys=True)

    @property
    def time(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.at)


@dataclass(frozen=True)
class BadLine:
    line_no: int
    reason: str  # "malformed", "bad mac", "unknown key"
    key_id: str = ""


@dataclass(frozen=True)
class CheckpointFile:
    path: Path
    checkpoints: list[Checkpoint]
    bad: list[BadLine]

    def latest(self) -> Checkpoint | None:
        return max(self.checkpoints, key=lambda c: (c.time, c.seq), default=None)


def path() -> Path:
    configured = getattr(settings, "CARETHREAD_AUDIT_CHECKPOINT_FILE", None)
    if configured:
        return Path(configured)
    return Path(settings.CARETHREAD_VAR_DIR) / "audit-checkpoints.jsonl"


def _mac(key: bytes, sealed: dict[str, Any]) -> str:
    payload = json.dumps(sealed, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.digest(key, (MAC_PREFIX + payload).encode("ascii"), "sha256").hex()


def seal(seq: int, chain_hash: str, reason: str, at: dt.datetime | None = None) -> Checkpoint:
    key_id, key = keys.current(keys.CHECKPOINT)
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    sealed = {"seq": seq, "hash": chain_hash, "at": when, "reason": reason, "key_id": key_id}
    return Checkpoint(**sealed, mac=_mac(key, sealed))  # type: ignore[arg-type]


def write(seq: int, chain_hash: str, reason: str, at: dt.datetime | None = None) -> Checkpoint:
    """Log the checkpoint, then append it to the file (one ``write`` on an O_APPEND descriptor,
    flushed to disk). Raises ``OSError`` if the file cannot be written (the log line is out)."""
    checkpoint = seal(seq, chain_hash, reason, at)
    line = checkpoint.line()
    log.info("audit checkpoint %s", line)
    _append(path(), line)
    return checkpoint


def _append(target: Path, line: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _parse(text: str) -> Checkpoint | None:
    try:
        raw = json.loads(text)
        checkpoint = Checkpoint(**{name: raw[name] for name in (*SEALED_FIELDS, "mac")})
        checkpoint.time  # noqa: B018 - the time must parse
    except (ValueError, KeyError, TypeError):
        return None
    types_ok = isinstance(checkpoint.seq, int) and not isinstance(checkpoint.seq, bool)
    strings_ok = all(isinstance(getattr(checkpoint, n), str) for n in SEALED_FIELDS[1:])
    return checkpoint if types_ok and strings_ok and isinstance(checkpoint.mac, str) else None


def read() -> CheckpointFile:
    """Every checkpoint of the file whose HMAC holds; the others as ``bad`` (none if no file)."""
    target = path()
    try:
        text = target.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return CheckpointFile(target, [], [])
    except OSError as exc:
        raise CheckpointFileError(f"cannot read checkpoint file {target}: {exc.strerror}") from None
    good: list[Checkpoint] = []
    bad: list[BadLine] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        checkpoint = _parse(line)
        if checkpoint is None:
            bad.append(BadLine(line_no, "malformed"))
            continue
        key = keys.by_id(checkpoint.key_id, keys.CHECKPOINT)
        if key is None:
            bad.append(BadLine(line_no, "unknown key", checkpoint.key_id))
        elif not hmac.compare_digest(_mac(key, checkpoint.sealed()), checkpoint.mac):
            bad.append(BadLine(line_no, "bad mac"))
        else:
            good.append(checkpoint)
    return CheckpointFile(target, good, bad)


# The worker's daily checkpoint ----------------------------------------------------------------

_not_before: dt.datetime | None = None


def _mismatch(checkpoint: Checkpoint) -> str | None:
    """Why the database no longer agrees with ``checkpoint`` (None if it does)."""
    if checkpoint.seq == 0:
        return None
    stored = AuditEvent.objects.filter(seq=checkpoint.seq).values_list("hash", flat=True).first()
    if stored is None:
        return f"the trail no longer reaches seq {checkpoint.seq}"
    if stored != checkpoint.hash:
        return f"the entry at seq {checkpoint.seq} differs"
    return None


def _sealed_head() -> tuple[int, str] | None:
    """The chain head, if its entry carries a valid keyed hash (else None: never pin it)."""
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None or head.last_seq == 0:
        return (0, head.last_hash) if head is not None else None
    row = AuditEvent.objects.filter(seq=head.last_seq).values_list(*COLUMNS).first()
    fields = row_fields(row) if row is not None else {}
    if not fields.get("key_id"):
        return None
    key = keys.by_id(fields["key_id"])
    if key is None or keyed_hash(key, fields["prev_hash"], fields) != head.last_hash:
        return None
    if fields["hash"] != head.last_hash:
        return None
    return head.last_seq, head.last_hash


def daily(now: dt.datetime | None = None) -> dict[str, int]:
    """The worker's step: once the newest checkpoint is a day old, check it against the database
    and pin the current head. Returns counts for the worker's summary (empty if nothing was due).
    Failures are logged, never raised (database errors excepted: the worker retries those)."""
    global _not_before
    now = now or dt.datetime.now(dt.UTC)
    if _not_before is not None and now < _not_before:
        return {}
    try:
        existing = read()
        latest = existing.latest()
        if latest is not None and now - latest.time < DAILY:
            _not_before = latest.time + DAILY
            return {}
        problem = _mismatch(latest) if latest is not None else None
        if problem is None and existing.bad:
            bad = existing.bad[0]
            problem = f"line {bad.line_no} of {existing.path} is {bad.reason}"
        head = _sealed_head() if problem is None else None
        if problem is None and head is None:
            problem = "the chain head is missing or its entry does not carry a valid keyed hash"
        if problem is not None:
            log.error(
                "audit trail does not match its checkpoints (%s): run `carethread audit verify`",
                problem,
            )
            _not_before = now + RETRY_AFTER_FAILURE
            return {"audit_checkpoint_mismatch": 1}
        assert head is not None
        write(head[0], head[1], "daily", at=now)
    except (KeyRingError, CheckpointFileError, OSError) as exc:
        log.error("audit checkpoint could not be written: %s", exc)
        _not_before = now + RETRY_AFTER_FAILURE
        return {"audit_checkpoint_failed": 1}
    _not_before = now + DAILY
    return {"audit_checkpoint": 1}


def reset_schedule() -> None:
    """Forget when the daily checkpoint is next due (tests)."""
    global _not_before
    _not_before = None
