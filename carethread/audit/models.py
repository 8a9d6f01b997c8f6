"""The append-only audit trail (170.315(d)(2), (d)(3), (d)(10)).

Each event commits to the previous one through a keyed hash chain (HMAC-SHA-256 under a key from
the key file, named by ``key_id``; empty for legacy unkeyed SHA-256 entries) ordered by ``seq``.
``AuditChainHead`` holds the last sequence number and hash; writers lock it, so the chain has
exactly one order even with concurrent writers.

Rows are never changed or removed: the model and its queryset refuse it here, and database
triggers (migration 0002, ``carethread.audit.triggers``) refuse it for raw SQL too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NoReturn

from django.db import models


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an audit event through the ORM."""


def _refuse(what: str) -> NoReturn:
    raise AppendOnlyError(f"audit events are append-only: {what} is not allowed")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: object) -> NoReturn:
        _refuse("update")

    def delete(self) -> NoReturn:
        _refuse("delete")

    def bulk_update(
        self, objs: Iterable[AuditEvent], fields: Iterable[str], batch_size: int | None = None
    ) -> NoReturn:
        _refuse("bulk_update")

    def bulk_create(
        self,
        objs: Iterable[AuditEvent],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Collection[str] | None = None,
        unique_fields: Collection[str] | None = None,
    ) -> NoReturn:
        # New entries go through carethread.audit.actions, which extends the hash chain.
        _refuse("bulk_create outside carethread.audit.actions")


class AuditEventManager(models.Manager.from_queryset(AuditEventQuerySet)):  # type: ignore[misc]
    pass


class AuditEvent(models.Model):
    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField(help_text="UTC")
    actor_id = models.BigIntegerField(
        null=True, blank=True, help_text="User id (kept if the user is deleted)"
    )
    actor_label = models.CharField(max_length=64, blank=True, help_text="User UUID or 'system'")
    actor_role = models.CharField(max_length=32, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.SUCCESS)
    source_address = models.CharField(max_length=45, blank=True)
    details = models.JSONField(
        default=dict, blank=True, help_text="Codes and counts only: never PHI"
    )
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    key_id = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="Key-file key the hash is an HMAC under; empty: a legacy unkeyed SHA-256 entry",
    )

    objects = AuditEventManager()

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["occurred_at"], name="audit_occurred_at"),
            # One per filter of the audit report, in seq (= time) order: a filtered page is
            # read newest first straight from the index.
            models.Index(fields=["patient_id", "seq"], name="audit_patient_seq"),
            models.Index(fields=["actor_id", "seq"], name="audit_actor_seq"),
            models.Index(fields=["action", "seq"], name="audit_action_seq"),
            models.Index(fields=["outcome", "seq"], name="audit_outcome_seq"),
            models.Index(fields=["source_address", "seq"], name="audit_address_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(
        self,
        *,
        force_insert: bool | tuple[models.base.ModelBase, ...] = False,
        force_update: bool = False,
        using: str | None = None,
        update_fields: Iterable[str] | None = None,
    ) -> None:
        """Insert the new event (always an insert: a saved event is never changed)."""
        if not self._state.adding:
            _refuse("changing a saved event")
        super().save(
            force_insert=True, force_update=force_update, using=using, update_fields=update_fields
        )

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        _refuse("delete")


class AuditChainHead(models.Model):
    """Singleton row (id=1): the last entry's sequence number and hash."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit chain head at seq {self.last_seq}"
