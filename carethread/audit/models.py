"""The append-only audit trail (170.315(d)(2), (d)(3), (d)(10)).

Each event commits to the previous one through a SHA-256 hash chain ordered by ``seq``.
``AuditChainHead`` holds the last sequence number and hash; writers lock it, so the chain has
exactly one order even with concurrent writers.
"""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField(help_text="UTC")
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="User id (kept if the user is deleted)")
    actor_label = models.CharField(max_length=64, blank=True, help_text="User UUID or 'system'")
    actor_role = models.CharField(max_length=32, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.SUCCESS)
    source_address = models.CharField(max_length=45, blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="Codes and counts only: never PHI")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["occurred_at"], name="audit_occurred_at"),
            models.Index(fields=["patient_id", "occurred_at"], name="audit_patient"),
            models.Index(fields=["actor_id", "occurred_at"], name="audit_actor"),
            models.Index(fields=["action", "occurred_at"], name="audit_action"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditChainHead(models.Model):
    """Singleton row (id=1): the last entry's sequence number and hash."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
