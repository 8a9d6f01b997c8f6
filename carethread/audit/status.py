"""The hash chain's status as a page shows it, without walking the trail.

A full walk (``verify.verify_chain``) reads every entry; on a trail of a million entries that
takes far longer than a page may. The status is read from what the last walk left:

* the newest checkpoint written after a successful walk (reason ``verify``: ``carethread audit
  verify``, or ``verify_now`` from the audit page) says "verified up to entry N at time T";
  the daily checkpoints of the worker only pin the head and do not count as a walk;
* the newest ``audit.verify`` event: if it failed and is newer than that checkpoint, the trail
  was found broken, and its details name the first broken entry;
* the chain head says how many entries were written since.

``verify_now`` walks the whole trail when it is small enough for a request (``VERIFY_NOW_LIMIT``
entries); a larger one is left to ``carethread audit verify``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Unpack

from carethread.audit import checkpoints, codes
from carethread.audit.actions import Who, record
from carethread.audit.models import AuditChainHead, AuditEvent
from carethread.audit.verify import VerifyResult, verify_chain
from carethread.keyfile import KeyRingError

VERIFY_NOW_LIMIT = 200_000
WALK_REASONS = frozenset({"verify", "verify_now"})


@dataclass(frozen=True)
class ChainStatus:
    head_seq: int
    verified_seq: int | None = None  # the last walk reached this entry intact
    verified_at: dt.datetime | None = None
    broken_seq: int | None = None  # the first broken entry the last failed walk named
    broken_kind: str = ""
    broken_at: dt.datetime | None = None
    unreadable: str = ""  # the checkpoint file could not be read

    @property
    def since(self) -> int:
        """Entries written after the verified one."""
        return self.head_seq - (self.verified_seq or 0)

    @property
    def can_verify_now(self) -> bool:
        return self.head_seq <= VERIFY_NOW_LIMIT


def chain_status() -> ChainStatus:
    """The last walk's result and the head (two queries and a read of the checkpoint file)."""
    head_seq = AuditChainHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0
    unreadable = ""
    walked = None
    try:
        pinned = checkpoints.read()
        walks = [c for c in pinned.checkpoints if c.reason in WALK_REASONS]
        walked = max(walks, key=lambda c: (c.time, c.seq), default=None)
    except (checkpoints.CheckpointFileError, KeyRingError) as exc:
        unreadable = str(exc)
    failed = (
        AuditEvent.objects.filter(action=codes.AUDIT_VERIFY)
        .order_by("-seq")
        .values("seq", "outcome", "occurred_at", "details")
        .first()
    )
    status = ChainStatus(head_seq=head_seq, unreadable=unreadable)
    if walked is not None:
        status = ChainStatus(head_seq=head_seq, verified_seq=walked.seq, verified_at=walked.time)
    if (
        failed is not None
        and failed["outcome"] == AuditEvent.Outcome.FAILURE
        and (walked is None or failed["occurred_at"] > walked.time)
    ):
        details = failed["details"] if isinstance(failed["details"], dict) else {}
        seq = details.get("seq")
        status = ChainStatus(
            head_seq=head_seq,
            verified_seq=status.verified_seq,
            verified_at=status.verified_at,
            broken_seq=seq if isinstance(seq, int) else None,
            broken_kind=str(details.get("problem", "")),
            broken_at=failed["occurred_at"],
            unreadable=unreadable,
        )
    return status


def verify_now(**who: Unpack[Who]) -> VerifyResult | None:
    """Walk the whole trail (if it has at most ``VERIFY_NOW_LIMIT`` entries; else None), record
    the ``audit.verify`` event and, on success, pin it with a ``verify_now`` checkpoint."""
    if not chain_status().can_verify_now:
        return None
    result = verify_chain()
    details: dict[str, object] = {"entries": result.entries}
    if result.problem is not None:
        details.update(problem=str(result.problem.kind), seq=result.problem.seq)
    outcome = AuditEvent.Outcome.SUCCESS if result.ok else AuditEvent.Outcome.FAILURE
    event = record(codes.AUDIT_VERIFY, outcome=outcome, details=details, **who)
    if result.ok:
        checkpoints.write(event.seq, event.hash, "verify_now")
    return result
