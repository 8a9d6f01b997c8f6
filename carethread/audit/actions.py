"""Writing audit events. Call ``record`` inside the transaction of the change it records.

Ordering: every writer locks the ``AuditChainHead`` row (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite the connection's ``BEGIN IMMEDIATE`` already serialises writers), reads the
last sequence number and hash, inserts the next entry and advances the head, all in the caller's
transaction. The lock is held until that transaction ends, so the chain has exactly one order,
``seq`` has no gaps or duplicates and each ``prev_hash`` is the hash of the entry before it.
Call ``record`` as the last write of an action: it keeps the lock short and avoids deadlocks
with other row locks.
"""

from __future__ import annotations

import datetime as dt
import getpass
import re
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from django.contrib.auth.models import AnonymousUser
from django.db import models, transaction
from django.http import HttpRequest

from carethread.addresses import client_address
from carethread.audit import keys
from carethread.audit.chain import GENESIS_HASH, canonical_json_value, keyed_hash
from carethread.audit.models import AuditChainHead, AuditEvent

if TYPE_CHECKING:
    from carethread.accounts.models import User

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
MAX_DETAIL_TEXT = 100
MAX_DETAIL_DEPTH = 4


class AuditChainError(RuntimeError):
    """The chain cannot be extended safely (its head row is missing while entries exist)."""


class Who(TypedDict, total=False):
    """Who acts, for ``record``: a user (``actor``; anonymous or none is recorded as no user), or
    a non-user actor named by ``actor_label`` (default: the user's UUID, or "system").
    ``actor_role`` overrides the user's role (``User.primary_role``); ``request`` gives the
    client's address."""

    actor: User | AnonymousUser | None
    actor_role: str | None
    actor_label: str | None
    request: HttpRequest | None


def operator() -> Who:
    """Who runs a command from the shell, for the audit entry (no user account is involved)."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = "unknown"
    return {"actor_label": f"cli:{name}"[:64], "actor_role": "operator"}


def check_details(value: object, depth: int = 0) -> None:
    """Refuse details that are not plain codes and counts (no long free text, no objects)."""
    if depth > MAX_DETAIL_DEPTH:
        raise ValueError("audit details are nested too deeply")
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str):
        if len(value) > MAX_DETAIL_TEXT:
            raise ValueError("audit details hold codes only, not free text")
        return
    if isinstance(value, list | tuple):
        for item in value:
            check_details(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > MAX_DETAIL_TEXT:
                raise ValueError("audit detail keys must be short strings")
            check_details(item, depth + 1)
        return
    raise ValueError(f"audit details cannot hold {type(value).__name__} values")


def _lock_head() -> AuditChainHead:
    """The chain head, locked for the rest of the current transaction."""
    head, created = AuditChainHead.objects.select_for_update().get_or_create(
        pk=1, defaults={"last_seq": 0, "last_hash": GENESIS_HASH}
    )
    if created and AuditEvent.objects.exists():
        # Starting a second chain would hide whatever removed the head: fail closed.
        raise AuditChainError("the audit chain head is missing; run `carethread audit verify`")
    return head


def append_entries(entries: Iterable[dict[str, Any]], *, batch_size: int = 2000) -> int:
    """Append prepared entries (all fields but seq, prev_hash, hash) in one transaction.

    The fast path for bulk writers (benchmarks, large imports); ``record`` is the usual way.
    Returns the number of entries appended.
    """
    count = 0
    with transaction.atomic():
        head = _lock_head()
        seq, prev = head.last_seq, head.last_hash
        key_id, key = keys.current()
        batch: list[AuditEvent] = []
        # The plain queryset: AuditEvent's own refuses bulk_create.
        writer: models.QuerySet[AuditEvent] = models.QuerySet(model=AuditEvent)
        for fields in entries:
            seq += 1
            row = {**fields, "seq": seq, "key_id": key_id}
            row["hash"] = keyed_hash(key, prev, row)
            batch.append(AuditEvent(prev_hash=prev, **row))
            prev = row["hash"]
            if len(batch) >= batch_size:
                writer.bulk_create(batch)
                count += len(batch)
                batch = []
        if batch:
            writer.bulk_create(batch)
            count += len(batch)
        if count:
            AuditChainHead.objects.filter(pk=1).update(last_seq=seq, last_hash=prev)
    return count


def record(
    action: str,
    *,
    patient: models.Model | int | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    details: Mapping[str, object] | None = None,
    **who: Unpack[Who],
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    ``action`` is a dotted lowercase code (``carethread.audit.codes``). ``details`` carries codes
    and counts only, never free text that could hold PHI. ``patient`` is whose record the event
    touches (the row or its id); ``obj`` the row acted on, or ``object_type`` and ``object_id``
    name it. ``who`` names the actor (``Who``).
    """
    if not ACTION_PATTERN.match(action) or len(action) > 64:
        raise ValueError(f"audit action must be a dotted lowercase code, not {action!r}")
    outcome = str(outcome)
    if outcome not in AuditEvent.Outcome.values:
        raise ValueError(f"audit outcome must be one of {AuditEvent.Outcome.values}")
    checked = canonical_json_value(dict(details or {}))
    check_details(checked)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "uuid", obj.pk))
    actor = who.get("actor")
    user = actor if actor is not None and actor.is_authenticated else None
    patient_id = patient.pk if isinstance(patient, models.Model) else patient
    actor_label = who.get("actor_label")
    if actor_label is None:
        actor_label = str(user.uuid) if user is not None else "system"
    actor_role = who.get("actor_role")
    if actor_role is None:
        actor_role = user.primary_role if user is not None else "anonymous"
    # Inside the caller's transaction no savepoint is needed: nothing here is retried.
    in_caller = transaction.get_connection().in_atomic_block
    key_id, key = keys.current()
    with nullcontext() if in_caller else transaction.atomic():
        head = _lock_head()
        fields: dict[str, object] = {
            "seq": head.last_seq + 1,
            # Taken under the lock, so time order follows seq order (clock permitting).
            "occurred_at": dt.datetime.now(dt.UTC),
            "actor_id": int(user.pk) if user is not None else None,
            "actor_label": actor_label[:64],
            "actor_role": actor_role[:32],
            "patient_id": int(patient_id) if patient_id is not None else None,
            "action": action,
            "object_type": str(object_type)[:64],
            "object_id": str(object_id)[:64],
            "outcome": outcome,
            "source_address": client_address(who.get("request")),
            "details": checked,
            "key_id": key_id,
        }
        fields["hash"] = keyed_hash(key, head.last_hash, fields)
        event = AuditEvent.objects.create(prev_hash=head.last_hash, **fields)
        AuditChainHead.objects.filter(pk=1).update(last_seq=fields["seq"], last_hash=fields["hash"])
    return event
