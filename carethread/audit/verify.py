"""Checking the audit trail's hash chain (``carethread audit verify``).

The walk streams the entries in ``seq`` order (a database cursor read in chunks, so memory stays
flat for millions of rows) and, for each entry, checks that

* its ``seq`` is the previous one plus one (the first is 1),
* its ``prev_hash`` is the previous entry's hash (the first links to ``GENESIS_HASH``),
* its hash, recomputed from its content, is the stored hash;

and at the end that the chain head (last ``seq`` and hash, written in the same transaction as each
entry) matches the last entry, which catches entries deleted from the end and rows appended
behind the writers' back. Entries committed while the walk runs are taken in: the head is read
after the walk, and the head only moves forward.

The first problem found is reported with a kind (see ``Kind``) and the ``seq`` it concerns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from carethread.audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash
from carethread.audit.models import AuditChainHead, AuditEvent

COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_PREV, _HASH = len(HASHED_FIELDS), len(HASHED_FIELDS) + 1


class Kind(StrEnum):
    CHANGED = "changed"
    MISSING = "missing entry before it"
    INSERTED = "inserted"
    OUT_OF_ORDER = "out of order"
    HEAD_MISMATCH = "chain head mismatch"


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: Kind
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind} ({self.detail})"


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    last_seq: int
    last_hash: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Broken(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


class _Walk:
    def __init__(self, chunk_size: int, progress: Callable[[int], None] | None) -> None:
        self.chunk_size = chunk_size
        self.progress = progress
        self.count = 0
        self.last_seq = 0
        self.last_hash = GENESIS_HASH
        self.before_last_hash = GENESIS_HASH

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

    def check(self, row: tuple[Any, ...]) -> None:
        seq, expected = row[0], self.last_seq + 1
        if seq > expected:
            missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected} to {seq - 1}"
            raise _Broken(Problem(seq, Kind.MISSING, f"no entry with {missing}"))
        if seq < expected:
            raise _Broken(Problem(seq, Kind.INSERTED, "sequence numbers start at 1"))
        fields = dict(zip(HASHED_FIELDS, row, strict=False))
        content_ok = entry_hash(row[_PREV], fields) == row[_HASH]
        if not content_ok or row[_PREV] != self.last_hash:
            raise _Broken(self.explain(fields, row[_PREV], row[_HASH], content_ok))
        self.before_last_hash = self.last_hash
        self.last_seq, self.last_hash = seq, row[_HASH]
        self.count += 1

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
            if original == seq or entry_hash(prev_hash, {**fields, "seq": original}) != stored:
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
    *, chunk_size: int = 5000, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Walk the whole chain; the result names the first problem, if any."""
    walk = _Walk(chunk_size, progress)
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
    except _Broken as broken:
        return VerifyResult(walk.count, walk.last_seq, walk.last_hash, broken.problem)
    return VerifyResult(walk.count, walk.last_seq, walk.last_hash, None)


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
