"""Which (model, field) pairs hold encrypted envelopes, so that key rotation can find them.

Apps register their fields once, in ``AppConfig.ready()``::

    from carethread.crypto import registry
    registry.register(Message, "body_ct")            # bound to the row's ``uuid``

The binding used for each value is ``(model._meta.db_table, getattr(row, row_attr), field)``,
the same triple the app passes to ``encrypt_value``.

Envelopes kept elsewhere than in a ``BinaryField`` of their own (allauth's MFA secrets, inside a
JSON column: ``carethread.crypto.mfa``) register a store with ``register_store``: anything with
a ``label``, a ``count()`` of its rows and a ``reencrypt_batch(...)`` like the fields'. Key
rotation walks ``stores()``: the fields and those stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.db import models

if TYPE_CHECKING:
    from carethread.crypto.actions import BatchResult


class EnvelopeStore(Protocol):
    @property
    def label(self) -> str: ...

    def count(self) -> int:
        """How many rows hold envelopes (for progress)."""
        ...

    def reencrypt_batch(
        self, *, after_pk: int | None, batch_size: int, key_id: str, key: bytes
    ) -> BatchResult:
        """Re-encrypt the next rows after ``after_pk`` under (key_id, key), compare-and-swap."""
        ...


@dataclass(frozen=True)
class EncryptedField:
    model: type[models.Model]
    field: str
    row_attr: str = "uuid"

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field}"

    def count(self) -> int:
        return self.model._base_manager.exclude(**{f"{self.field}__isnull": True}).count()

    def reencrypt_batch(
        self, *, after_pk: int | None, batch_size: int, key_id: str, key: bytes
    ) -> BatchResult:
        from carethread.crypto.actions import reencrypt_batch

        return reencrypt_batch(
            self, after_pk=after_pk, batch_size=batch_size, key_id=key_id, key=key
        )


_fields: dict[tuple[str, str], EncryptedField] = {}
_stores: dict[str, EnvelopeStore] = {}


def register(model: type[models.Model], field: str, *, row_attr: str = "uuid") -> EncryptedField:
    model_field = model._meta.get_field(field)
    if not isinstance(model_field, models.BinaryField):
        raise TypeError(f"{model._meta.label}.{field} must be a BinaryField to hold envelopes")
    model._meta.get_field(row_attr)  # FieldDoesNotExist if the binding column is missing
    entry = EncryptedField(model, field, row_attr)
    _fields[(model._meta.label_lower, field)] = entry
    return entry


def unregister(model: type[models.Model], field: str) -> None:
    _fields.pop((model._meta.label_lower, field), None)


def registered() -> list[EncryptedField]:
    return sorted(_fields.values(), key=lambda entry: entry.label)


def register_store(store: EnvelopeStore) -> EnvelopeStore:
    _stores[store.label] = store
    return store


def unregister_store(label: str) -> None:
    _stores.pop(label, None)


def stores() -> list[EnvelopeStore]:
    """Everything key rotation re-encrypts: the registered fields, then the other stores."""
    others = sorted(_stores.values(), key=lambda store: store.label)
    return [*registered(), *others]
