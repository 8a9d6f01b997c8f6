"""Durable notification records: one row per (kind, subject, recipient), delivered by the worker.

Preferences: ``NotificationPreference`` turns email on/off per user and kind;
``NotificationSettings`` holds a user's options for every kind (naming the sender).

A row holds ids and codes only — what the notification is about (``subject_type`` +
``subject_id``), never its content.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        SKIPPED = "skipped"
        FAILED = "failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=32)
    subject_id = models.UUIDField()
    # The practice's display name for the email body ("" means a generic phrase); not PHI.
    practice_name = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The current claim: a fresh token per claim and the end of its lease.
    claim_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Set (and committed) right before the message is handed to the SMTP server.
    handed_at = models.DateTimeField(null=True, blank=True)
    # The email's Message-ID header, written when the email is first built: every retry
    # reuses it, so a duplicate (after an unknown outcome) is recognisable as one.
    message_id = models.CharField(max_length=255, blank=True)
    # How often a hand-over ended with an unknown outcome and was retried.
    unknown_outcome_retries = models.PositiveSmallIntegerField(default=0)
    # The queued delivery task (a django-tasks result id) that will deliver this row when due.
    task_id = models.UUIDField(null=True, blank=True)
    last_error_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_id", "recipient"], name="notification_once_per_recipient"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"Notification {self.uuid}"


class NotificationPreference(models.Model):
    """Email on/off per user and kind. No row means the default: email on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=64)
    email_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self) -> str:
        return f"NotificationPreference {self.pk}"


class NotificationSettings(models.Model):
    """A user's options for all kinds. No row means the defaults (everything off)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    # The user agrees to see the sender's name in emails (used only where the practice agrees too).
    sender_name = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"NotificationSettings {self.pk}"
