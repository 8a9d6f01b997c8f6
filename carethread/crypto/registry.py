"""Which (model, field) pairs hold encrypted envelopes, so that key rotation can find them.

Apps register their fields once, in ``AppConfig.ready()``::

    from carethread.crypto import registry
    registry.register(Message, "body_ct")            # bound to the row's ``uuid``

The binding used for each value is ``(model._meta.db_table, getattr(row, row_attr), field)``,
the same triple the app passes to ``encrypt_value``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


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


_fields: dict[tuple[str, str], EncryptedField] = {}


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
