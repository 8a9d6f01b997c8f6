"""Checking the audit trail's keyed hash chain and its checkpoints (``carethread audit verify``).

The walk streams the entries in ``seq`` order (a database cursor read in chunks, so memory stays
flat for millions of rows) and, for each entry, checks that

* its ``seq`` is the previous one plus one (the first is 1),
* its ``prev_hash`` is the previous entry's hash (the first links to ``GENESIS_HASH``),
* its hash, recomputed from its content with the key its ``key_id`` names (from the key file),
  is the stored hash; an unkeyed (legacy) entry is accepted only before the first keyed entry,
  and a trail must hold at least one keyed entry (the first one seals the legacy ones),
* a checkpoint taken at its ``seq`` (``checkpoints``) recorded the same hash;

and at the end that the chain head (last ``seq`` and hash, written in the same transaction as each
entry) matches the last entry, which catches entries deleted from the end and rows appended
behind the writers' back, and that no checkpoint lies beyond the end (a truncated, emptied or
restored trail). Entries committed while the walk runs are taken in: the head is read after the
walk, and the head only moves forward.

The first problem found is reported with a kind (see ``Kind``) and the ``seq`` it concerns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from carethread.audit import keys
from carethread.audit.chain import GENESIS_HASH, ROW_COLUMNS, entry_hash, row_fields
from carethread.audit.models import AuditChainHead, AuditEvent

if TYPE_CHECKING:
    from carethread.audit.checkpoints import Checkpoint, CheckpointFile

COLUMNS = ROW_COLUMNS


class Kind(StrEnum):
    CHANGED = "changed"
    MISSING = "missing entry before it"
    INSERTED = "inserted"
    OUT_OF_ORDER = "out of order"
    HEAD_MISMATCH = "chain head mismatch"
    UNKEYED = "unkeyed entry"
    UNKNOWN_KEY = "unknown key"
    CHECKPOINT_MISMATCH = "differs from checkpoint"
    TRUNCATED = "truncated below checkpoint"
    BAD_CHECKPOINT = "bad checkpoint"


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: Kind
    detail: str

    def __str__(self) -> str:
        if self.kind == Kind.BAD_CHECKPOINT or (self.kind == Kind.UNKNOWN_KEY and not self.seq):
            return f"the checkpoint file: {self.kind} ({self.detail})"
        return f"seq {self.seq}: {self.kind} ({self.detail})"


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    last_seq: int
    last_hash: str
    problem: Problem | None
    legacy: int = 0
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Broken(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


class _Walk:
    def __init__(
        self,
        chunk_size: int,
        progress: Callable[[int], None] | None,
        pins: dict[int, list[Checkpoint]],
    ) -> None:
        self.chunk_size = chunk_size
        self.progress = progress
        self.pins = pins
        self.count = 0
        self.legacy = 0
        self.keyed = False
        self.pinned = 0
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.before_last_hash = GENESIS_HASH
        self._keys: dict[str, bytes | None] = {}

    def run(self, upto: int | None = None) -> None:
        rows = AuditEvent.objects.all()
        if self.count:  # the first walk has no lower bound: a forged seq 0 must be seen
            rows = rows.filter(seq__gt=self.last_seq)
        if upto is not None:
            rows = rows.filter(seq__lte=upto)
        stream = rows.order_by("seq").values_list(*COLUMNS).iterator(chunk_size=self.chunk_size)
        for row in stream:
            self.check(row)
            if self.progress is not None and self.count % self.chunk_size == 0:
                self.progress(self.chunk_size)

    def key(self, key_id: str) -> bytes | None:
        if key_id not in self._keys:
            self._keys[key_id] = keys.by_id(key_id)
        return self._keys[key_id]

    def hash_of(self, prev_hash: str, fields: dict[str, Any]) -> str:
        key_id = fields["key_id"]
        return entry_hash(prev_hash, fields, self.key(key_id) if key_id else None)

    def check(self, row: tuple[Any, ...]) -> None:
        fields = row_fields(row)
        seq, expected = fields["seq"], self.last_seq + 1
        if seq > expected:
            missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected} to {seq - 1}"
            raise _Broken(Problem(seq, Kind.MISSING, f"no entry with {missing}"))
        if seq < expected:
            raise _Broken(Problem(seq, Kind.INSERTED, "sequence numbers start at 1"))
        self.check_key(seq, fields["key_id"])
        prev_hash, stored = fields["prev_hash"], fields["hash"]
        content_ok = self.hash_of(prev_hash, fields) == stored
        if not content_ok or prev_hash != self.last_hash:
            raise _Broken(self.explain(fields, prev_hash, stored, content_ok))
        for checkpoint in self.pins.get(seq, ()):
            if checkpoint.hash != stored:
                raise _Broken(
                    Problem(
                        seq,
                        Kind.CHECKPOINT_MISMATCH,
                        f"the checkpoint of {checkpoint.at} recorded another hash for it: "
                        "the trail was rebuilt from here or earlier",
                    )
                )
            self.pinned += 1
        if fields["key_id"]:
            self.keyed = True
        else:
            self.legacy += 1
        self.before_last_hash = self.last_hash
        self.last_seq, self.last_hash = seq, stored
        self.count += 1

    def check_key(self, seq: int, key_id: str) -> None:
        if not key_id:
            if self.keyed:
                raise _Broken(
                    Problem(
                        seq,
                        Kind.UNKEYED,
                        "an unkeyed entry after keyed ones: it was written without the key",
                    )
                )
        elif self.key(key_id) is None:
            raise _Broken(
                Problem(
                    seq,
                    Kind.UNKNOWN_KEY,
                    f"it is sealed under key {key_id!r}, which the key file does not hold: "
                    "restore that key to the key file",
                )
            )

    def explain(
        self, fields: dict[str, Any], prev_hash: str, stored: str, content_ok: bool
    ) -> Problem:
        seq = fields["seq"]
        if content_ok:
            # The entry is intact but does not link to the one before it.
            if seq > 1 and prev_hash == self.before_last_hash:
                return Problem(
                    seq - 1,
                    Kind.INSERTED,
                    f"seq {seq} links to seq {seq - 2}: this entry was added between them",
                )
            return Problem(
                seq - 1,
                Kind.CHANGED,
                f"its hash was recomputed: seq {seq} no longer links to it",
            )
        for original in _original_seqs(prev_hash, stored):
            if original == seq or self.hash_of(prev_hash, {**fields, "seq": original}) != stored:
                continue
            if original == seq - 1 and prev_hash == self.before_last_hash:
                return Problem(
                    seq - 1,
                    Kind.INSERTED,
                    f"the entries from seq {seq} on were renumbered to make room for it",
                )
            return Problem(seq, Kind.OUT_OF_ORDER, f"it holds the entry written as seq {original}")
        return Problem(seq, Kind.CHANGED, "its content no longer matches its hash")


def _original_seqs(prev_hash: str, stored: str) -> list[int]:
    """Where an entry with these hashes was written, judged by its neighbours (on failure)."""
    candidates: list[int] = []
    if prev_hash == GENESIS_HASH:
        candidates.append(1)
    successor = AuditEvent.objects.filter(prev_hash=stored).values_list("seq", flat=True).first()
    if successor is not None:
        candidates.append(successor - 1)
    predecessor = AuditEvent.objects.filter(hash=prev_hash).values_list("seq", flat=True).first()
    if predecessor is not None:
        candidates.append(predecessor + 1)
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash == stored:
        candidates.append(head.last_seq)
    return candidates


def verify_chain(
    *,
    chunk_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    checkpoints: CheckpointFile | None = None,
) -> VerifyResult:
    """Walk the whole chain against the checkpoints (default: the checkpoint file's); the
    result names the first problem, if any. An unreadable key file raises ``KeyRingError``."""
    from carethread.audit import checkpoints as checkpoint_file

    pinned = checkpoints if checkpoints is not None else checkpoint_file.read()
    pins: dict[int, list[Checkpoint]] = {}
    for checkpoint in pinned.checkpoints:
        pins.setdefault(checkpoint.seq, []).append(checkpoint)
    walk = _Walk(chunk_size, progress, pins)
    try:
        walk.run()
        head = AuditChainHead.objects.filter(pk=1).first()
        if head is None:
            if walk.count:
                raise _Broken(
                    Problem(walk.last_seq, Kind.HEAD_MISMATCH, "the chain head row is missing")
                )
        else:
            _check_head(walk, head)
        _check_sealed(walk)
        _check_beyond(walk, pinned.checkpoints)
        _check_file(pinned)
    except _Broken as broken:
        problem: Problem | None = broken.problem
    else:
        problem = None
    return VerifyResult(
        walk.count, walk.last_seq, walk.last_hash, problem, walk.legacy, walk.pinned
    )


def _check_head(walk: _Walk, head: AuditChainHead) -> None:
    if walk.last_seq > head.last_seq:
        # Every genuine entry moves the head in its own transaction, and the head was read
        # after the walk: rows beyond it were not written through the chain.
        raise _Broken(
            Problem(
                head.last_seq + 1,
                Kind.INSERTED,
                f"it lies beyond the chain head, which ends at seq {head.last_seq}",
            )
        )
    if walk.last_seq < head.last_seq:
        walk.run(upto=head.last_seq)  # entries committed while the walk ran
    if walk.last_seq < head.last_seq:
        raise _Broken(
            Problem(
                walk.last_seq + 1,
                Kind.HEAD_MISMATCH,
                f"the chain head records {head.last_seq} entries but the trail ends at "
                f"seq {walk.last_seq}: entries were deleted from the end",
            )
        )
    if walk.last_hash != head.last_hash:
        raise _Broken(
            Problem(
                head.last_seq,
                Kind.HEAD_MISMATCH,
                "the last entry's hash differs from the one the chain head records",
            )
        )


def _check_sealed(walk: _Walk) -> None:
    if walk.count and not walk.keyed:
        raise _Broken(
            Problem(
                walk.last_seq,
                Kind.UNKEYED,
                "no keyed entry follows the unkeyed ones: a keyed trail was rewritten without "
                "the key (the first keyed entry is written when the trail is keyed)",
            )
        )


def _check_beyond(walk: _Walk, pinned: list[Checkpoint]) -> None:
    beyond = [c for c in pinned if c.seq > walk.last_seq]
    if beyond:
        furthest = max(beyond, key=lambda c: c.seq)
        raise _Broken(
            Problem(
                walk.last_seq + 1,
                Kind.TRUNCATED,
                f"the checkpoint of {furthest.at} records seq {furthest.seq} but the trail ends "
                f"at seq {walk.last_seq}: entries were removed (TRUNCATE, a restored backup or "
                "a rebuilt trail)",
            )
        )


def _check_file(pinned: CheckpointFile) -> None:
    if not pinned.bad:
        return
    bad = pinned.bad[0]
    if bad.reason == "unknown key":
        raise _Broken(
            Problem(
                0,
                Kind.UNKNOWN_KEY,
                f"line {bad.line_no} of {pinned.path} is sealed under key {bad.key_id!r}, which "
                "the key file does not hold",
            )
        )
    raise _Broken(
        Problem(
            0,
            Kind.BAD_CHECKPOINT,
            f"line {bad.line_no} of {pinned.path} is {bad.reason}: the checkpoint file was "
            "edited by someone without the key",
        )
    )
