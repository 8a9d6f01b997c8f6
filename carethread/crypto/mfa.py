"""allauth.mfa's secrets under the crypto envelope: TOTP keys and recovery-code seeds.

allauth keeps them in ``Authenticator.data`` (JSON) and passes each one through its MFA
adapter's ``encrypt()`` / ``decrypt()`` hooks (``carethread.accounts.adapter.MFAAdapter``),
which call ``seal`` / ``unseal`` here. A sealed value is text: ``ct1:`` followed by the URL-safe
base64 of an AES-256-GCM envelope (``carethread.crypto.aead``) under the current data key.

Binding: allauth's hooks are given the text only, not the row, so the associated data binds each
value to the table and the ``data`` column (row ``mfa``), not to one authenticator. What this
protects is the secrets' confidentiality in a copy of the database (dumps, backups, replicas);
someone who can *write* the database can replace a password hash as easily as move a secret.

Key rotation re-encrypts them (``MFASecretStore``, registered in ``CryptoConfig.ready()``), with
a compare-and-swap on the whole ``data`` value, so a concurrent write (a recovery code used) is
never lost. Migration ``crypto.0002_seal_mfa_secrets`` sealed the secrets stored before.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import models, transaction

from carethread.crypto.aead import (
    IntegrityFailure,
    decrypt_value,
    encrypt_value,
    encrypt_with,
    envelope_key_id,
)

if TYPE_CHECKING:
    from allauth.mfa.models import Authenticator

    from carethread.core.json import JsonValue
    from carethread.crypto.actions import BatchResult

MARKER = "ct1:"
TABLE = "mfa_authenticator"
ROW = "mfa"
FIELD = "data"
SEALED_TYPES = ("totp", "recovery_codes")  # WebAuthn keeps public keys only
WHERE = {"table": TABLE, "row": ROW, "field": FIELD}


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(MARKER)


def _to_text(envelope: bytes) -> str:
    return MARKER + base64.urlsafe_b64encode(envelope).decode("ascii")


def _envelope(value: str) -> bytes:
    if not is_sealed(value):
        raise IntegrityFailure("malformed")
    try:
        return base64.urlsafe_b64decode(value[len(MARKER) :].encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise IntegrityFailure("malformed") from None


def seal(text: str) -> str:
    """Encrypt a secret under the current data key."""
    return _to_text(encrypt_value(text, **WHERE))


def unseal(value: str, *, audit: bool = True) -> str:
    """The secret; ``IntegrityFailure`` (audited) for a value that is not a valid envelope,
    a plain-text secret included: it is never used as it is."""
    try:
        envelope = _envelope(value)
    except IntegrityFailure as failure:
        if audit:
            from carethread.crypto.actions import record_integrity_failure

            record_integrity_failure(failure, **WHERE)
        raise
    return decrypt_value(envelope, audit=audit, **WHERE).decode("utf-8")


def key_id_of(value: str) -> str:
    return envelope_key_id(_envelope(value))


def map_secrets(data: JsonValue, change: Callable[[str], str]) -> JsonValue:
    """A copy of an authenticator's ``data`` with ``change`` applied to each secret in it (the
    TOTP ``secret``, the recovery codes' ``seed`` and any ``migrated_codes``)."""
    if not isinstance(data, dict):
        return data
    new = dict(data)
    for name in ("secret", "seed"):
        if isinstance(new.get(name), str):
            new[name] = change(new[name])
    if isinstance(new.get("migrated_codes"), list):
        new["migrated_codes"] = [
            change(code) if isinstance(code, str) else code for code in new["migrated_codes"]
        ]
    return new


def secrets_in(data: JsonValue) -> list[str]:
    found: list[str] = []

    def note(value: str) -> str:
        found.append(value)
        return value

    map_secrets(data, note)
    return found


class MFASecretStore:
    """``Authenticator.data`` for key rotation (``carethread.crypto.registry.EnvelopeStore``)."""

    label = "mfa.authenticator.data"

    @staticmethod
    def _rows() -> models.QuerySet[Authenticator]:
        from allauth.mfa.models import Authenticator

        return Authenticator.objects.filter(type__in=SEALED_TYPES)

    def count(self) -> int:
        return int(self._rows().count())

    def reencrypt_batch(
        self, *, after_pk: int | None, batch_size: int, key_id: str, key: bytes
    ) -> BatchResult:
        from carethread.crypto.actions import BatchResult

        result = BatchResult(last_pk=after_pk)
        rows = self._rows().order_by("pk")
        if after_pk is not None:
            rows = rows.filter(pk__gt=after_pk)
        with transaction.atomic():
            for pk, data in rows.values_list("pk", "data")[:batch_size]:
                result.last_pk = pk
                result.scanned += 1
                try:
                    old_ids = {key_id_of(value) for value in secrets_in(data) if is_sealed(value)}
                    if old_ids <= {key_id} and all(map(is_sealed, secrets_in(data))):
                        result.key_ids |= old_ids
                        continue

                    def reseal(value: str) -> str:
                        plain = unseal(value) if is_sealed(value) else value
                        return _to_text(encrypt_with(key_id, key, plain, **WHERE))

                    fresh = map_secrets(data, reseal)
                except IntegrityFailure as failure:  # audited by unseal; left as it is
                    result.failures += 1
                    if failure.key_id:
                        result.key_ids.add(failure.key_id)
                    continue
                if self._rows().filter(pk=pk, data=data).update(data=fresh):
                    result.reencrypted += 1
                    result.key_ids.add(key_id)
                else:
                    result.conflicts += 1
                    result.key_ids |= old_ids
        return result


def seal_all(authenticators: models.Manager[Authenticator]) -> int:
    """Seal every plain-text secret of ``authenticators`` (a queryset); returns rows changed.
    Used by the data migration."""
    changed = 0
    for row in authenticators.filter(type__in=SEALED_TYPES).order_by("pk"):
        fresh = map_secrets(row.data, lambda value: value if is_sealed(value) else seal(value))
        if fresh != row.data:
            authenticators.filter(pk=row.pk).update(data=fresh)
            changed += 1
    return changed


def unseal_all(authenticators: models.Manager[Authenticator]) -> int:
    """Back to plain text (the data migration's reverse); a value that fails stops it."""
    changed = 0
    for row in authenticators.filter(type__in=SEALED_TYPES).order_by("pk"):
        fresh = map_secrets(
            row.data, lambda value: unseal(value, audit=False) if is_sealed(value) else value
        )
        if fresh != row.data:
            authenticators.filter(pk=row.pk).update(data=fresh)
            changed += 1
    return changed
