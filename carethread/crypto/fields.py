"""Helpers for models that keep encrypted text in a ``BinaryField``.

Explicit by design: the model declares ``subject_ct = encrypted_field()``, the app's action sets
it with ``row.seal("subject_ct", text)`` before saving (the row's UUID is its binding, so it must
exist first: UUID fields default to ``uuid4`` at construction), and readers call
``row.unseal("subject_ct")``. Register the field with ``carethread.crypto.registry`` so key
rotation re-encrypts it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import models
from django.db.models.options import Options

from carethread.crypto.aead import decrypt_value, encrypt_value


def encrypted_field(*, null: bool = False) -> models.BinaryField:
    """A column for one envelope (never editable in forms, never shown as-is)."""
    return models.BinaryField(null=null, blank=null, editable=False)


class EncryptedValuesMixin:
    """``seal``/``unseal`` for BinaryField envelopes bound to (db_table, uuid, field)."""

    _meta: Options[Any]
    uuid: UUID | None

    def seal(self, field: str, plaintext: str | bytes) -> None:
        if self.uuid is None:
            raise ValueError("the row needs its UUID before a value can be encrypted")
        setattr(
            self,
            field,
            encrypt_value(plaintext, table=self._meta.db_table, row=self.uuid, field=field),
        )

    def unseal_bytes(self, field: str) -> bytes | None:
        value = getattr(self, field)
        if value is None:
            return None
        return decrypt_value(value, table=self._meta.db_table, row=self.uuid, field=field)

    def unseal(self, field: str) -> str | None:
        value = self.unseal_bytes(field)
        return None if value is None else value.decode("utf-8")
