"""Writes of the crypto app: data keys, re-encryption batches, and their audit events.

Each function runs in one short transaction. Re-encryption is a compare-and-swap on the old
envelope (``UPDATE ... WHERE pk = %s AND field = <old envelope>``): a value changed by a
concurrent writer since it was read is left alone (counted as a conflict, looked at again on the
next pass), so no concurrent write is ever lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Unpack

from django.db import transaction
from django.utils import timezone

from carethread.audit import codes
from carethread.audit.actions import Who, record
from carethread.audit.models import AuditEvent
from carethread.crypto import keyring
from carethread.crypto.aead import (
    IntegrityFailure,
    decrypt_value,
    encrypt_with,
    envelope_key_id,
)
from carethread.crypto.models import DataKey
from carethread.crypto.registry import EncryptedField
from carethread.keyfile import KeyFile


def record_integrity_failure(
    failure: IntegrityFailure, *, table: str, row: object, field: str
) -> None:
    """Audit a value that failed decryption: codes and the row id only, never content."""
    record(
        codes.CRYPTO_INTEGRITY_FAILURE,
        outcome=AuditEvent.Outcome.FAILURE,
        object_type=table,
        object_id=str(row),
        details={
            "table": table[:64],
            "field": field[:64],
            "key_id": failure.key_id[:32],
            "reason": failure.reason,
        },
    )


def start_rotation(key_file: KeyFile) -> DataKey:
    """Demote the current DEK to ``previous`` and make a new current one (one transaction)."""
    with transaction.atomic():
        DataKey.objects.select_for_update().filter(state=DataKey.State.CURRENT).update(
            state=DataKey.State.PREVIOUS
        )
        row = keyring.create_data_key(key_file)
    keyring.clear_cache()
    return row


def rewrap_data_keys(key_file: KeyFile) -> int:
    """Wrap every DEK not yet under the key file's current KEK with it; returns how many."""
    count = 0
    ids = DataKey.objects.exclude(kek_id=key_file.current).values_list("pk", flat=True)
    for pk in list(ids):
        with transaction.atomic():
            row = DataKey.objects.select_for_update().get(pk=pk)
            if row.kek_id == key_file.current:
                continue
            dek = keyring.unwrap(key_file, row.kek_id, row.key_id, bytes(row.wrapped_key))
            row.wrapped_key = keyring.wrap(key_file.kek(key_file.current), row.key_id, dek)
            row.kek_id = key_file.current
            row.save(update_fields=["wrapped_key", "kek_id"])
            count += 1
    return count


@dataclass
class BatchResult:
    last_pk: int | None = None
    scanned: int = 0
    reencrypted: int = 0
    conflicts: int = 0
    failures: int = 0
    key_ids: set[str] = field(default_factory=set)


def reencrypt_batch(
    entry: EncryptedField, *, after_pk: int | None, batch_size: int, key_id: str, key: bytes
) -> BatchResult:
    """Re-encrypt under (key_id, key) the next ``batch_size`` values after ``after_pk``."""
    result = BatchResult(last_pk=after_pk)
    manager = entry.model._base_manager
    with transaction.atomic():
        rows = manager.exclude(**{f"{entry.field}__isnull": True}).order_by("pk")
        if after_pk is not None:
            rows = rows.filter(pk__gt=after_pk)
        for pk, row_id, envelope in rows.values_list("pk", entry.row_attr, entry.field)[
            :batch_size
        ]:
            result.last_pk = pk
            result.scanned += 1
            envelope = bytes(envelope)
            where = {"table": entry.table, "row": row_id, "field": entry.field}
            try:
                old_id = envelope_key_id(envelope)
                if old_id == key_id:
                    result.key_ids.add(old_id)
                    continue
                plaintext = decrypt_value(envelope, **where)
            except IntegrityFailure as failure:  # audited by decrypt_value; left as it is
                result.failures += 1
                if failure.key_id:
                    result.key_ids.add(failure.key_id)
                continue
            fresh = encrypt_with(key_id, key, plaintext, **where)
            swapped = manager.filter(pk=pk, **{entry.field: envelope}).update(
                **{entry.field: fresh}
            )
            if swapped:
                result.reencrypted += 1
                result.key_ids.add(key_id)
            else:
                result.conflicts += 1
                result.key_ids.add(old_id)
    return result


def retire_unused(in_use: set[str]) -> int:
    """Retire every ``previous`` DEK that no stored value uses; returns how many."""
    with transaction.atomic():
        # A retired key found in use again (a writer that still held it) is kept as previous.
        DataKey.objects.filter(state=DataKey.State.RETIRED, key_id__in=in_use).update(
            state=DataKey.State.PREVIOUS, retired_at=None
        )
        return (
            DataKey.objects.filter(state=DataKey.State.PREVIOUS)
            .exclude(key_id__in=in_use)
            .update(state=DataKey.State.RETIRED, retired_at=timezone.now())
        )


def record_rotation(counts: dict[str, int], **who: Unpack[Who]) -> None:
    """Audit a rotation (``counts`` of what it did) by ``who``, failed if a value failed."""
    with transaction.atomic():
        record(
            codes.KEYS_ROTATED,
            object_type="crypto.datakey",
            outcome=AuditEvent.Outcome.FAILURE
            if counts.get("failures")
            else AuditEvent.Outcome.SUCCESS,
            details=counts,
            **who,
        )
