"""Data-encryption keys (DEKs), each wrapped by a key-encryption key (KEK) from the key file.

A DEK is 256 random bits, stored only wrapped: AES-256-GCM under the KEK named by ``kek_id``,
with the DEK's own ``key_id`` as associated data (``carethread.crypto.keyring``). Exactly one DEK
is ``current`` (new values are encrypted under it); ``previous`` ones still protect values not
yet re-encrypted; ``retired`` ones protected no value at the end of the last rotation. Rows are
never deleted: a retired key still decrypts, so no value can ever become unreadable.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class DataKey(models.Model):
    class State(models.TextChoices):
        CURRENT = "current"
        PREVIOUS = "previous"
        RETIRED = "retired"

    key_id = models.CharField(max_length=32, unique=True)
    wrapped_key = models.BinaryField(help_text="nonce (12 bytes) + AES-256-GCM ciphertext and tag")
    kek_id = models.CharField(max_length=32, help_text="key-encryption key in the key file")
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=8, choices=State.choices, default=State.CURRENT)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="current"), name="crypto_one_current_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.state})"
