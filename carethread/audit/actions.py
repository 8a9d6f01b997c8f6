"""Writing audit events. Call ``record`` inside the transaction of the change it records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from carethread.audit.chain import GENESIS_HASH, entry_hash
from carethread.audit.models import AuditChainHead, AuditEvent


def actor_role_of(user: Any) -> str:
    """The role an actor acts in, for the audit entry."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    from carethread.accounts.roles import primary_role

    return primary_role(user)


def client_address(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:45]


def record(
    action: str,
    *,
    actor: Any = None,
    actor_role: str | None = None,
    request: HttpRequest | None = None,
    patient: Any = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    ``details`` carries codes and counts only, never free text that could hold PHI.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "uuid", obj.pk))
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"last_seq": 0, "last_hash": GENESIS_HASH}
        )
        fields: dict[str, Any] = {
            "seq": head.last_seq + 1,
            "occurred_at": dt.datetime.now(dt.UTC),
            "actor_id": actor.pk if actor is not None else None,
            "actor_label": str(actor.uuid) if actor is not None else "system",
            "actor_role": actor_role if actor_role is not None else actor_role_of(actor),
            "patient_id": getattr(patient, "pk", patient),
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "outcome": str(outcome),
            "source_address": client_address(request),
            "details": details or {},
        }
        fields["hash"] = entry_hash(head.last_hash, fields)
        event = AuditEvent.objects.create(prev_hash=head.last_hash, **fields)
        AuditChainHead.objects.filter(pk=1).update(last_seq=fields["seq"], last_hash=fields["hash"])
    return event
