"""Personal API tokens. Only a keyed hash of each token is stored; the token is shown once."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # The first 8 characters of the token ("ct_" and 5 more), to recognise it in lists.
    prefix = models.CharField(max_length=8)
    # HMAC-SHA-256 of the whole token, keyed with a key derived from SECRET_KEY (hex).
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Chosen at creation (``tokens.LIFETIME_DAYS``); expired, it is refused like an unknown one.
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ApiToken {self.uuid}"

    def is_usable_at(self, when: dt.datetime) -> bool:
        return self.revoked_at is None and when < self.expires_at
