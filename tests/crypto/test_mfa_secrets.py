"""allauth.mfa's secrets (TOTP keys, recovery-code seeds) are stored under the crypto envelope,
covered by key rotation, and sealed by a data migration that can be reversed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from support.people import maria_lopez, riverside

from carethread.accounts import actions as account_actions
from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.crypto import keyring, mfa, rotation
from carethread.crypto.aead import IntegrityFailure
from carethread.crypto.models import DataKey

PASSWORD = "correct-horse-battery-42"


def totp_code(secret: str) -> str:
    if 30 - time.time() % 30 < 2:
        time.sleep(30 - time.time() % 30 + 0.1)
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time() // 30)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


@pytest.fixture
def user(db):
    patient = maria_lopez(riverside())
    return account_actions.create_user(patient.email, PASSWORD, patient=patient)


def raw_data(authenticator_pk: int) -> str:
    """The ``data`` column as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator WHERE id = %s", [authenticator_pk])
        (value,) = cursor.fetchone()
    return value if isinstance(value, str) else str(value)


def signs_in_with_code(user, secret: str) -> bool:
    client = Client()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    return response.status_code == 302 and "_auth_user_id" in client.session


@pytest.mark.django_db
def test_a_totp_secret_is_stored_sealed_and_still_signs_in(user):
    secret = generate_totp_secret()
    authenticator = TOTP.activate(user, secret).instance
    stored = Authenticator.objects.get(pk=authenticator.pk).data["secret"]
    assert mfa.is_sealed(stored) and secret not in raw_data(authenticator.pk)
    assert mfa.unseal(stored) == secret
    assert signs_in_with_code(user, secret)


@pytest.mark.django_db
def test_the_recovery_code_seed_is_stored_sealed_and_codes_still_work(user):
    authenticator = RecoveryCodes.activate(user).instance
    data = Authenticator.objects.get(pk=authenticator.pk).data
    assert mfa.is_sealed(data["seed"])
    codes_now = RecoveryCodes(Authenticator.objects.get(pk=authenticator.pk)).get_unused_codes()
    assert len(codes_now) == 10
    fresh = RecoveryCodes(Authenticator.objects.get(pk=authenticator.pk))
    assert fresh.validate_code(codes_now[0])
    assert (
        codes_now[0]
        not in RecoveryCodes(Authenticator.objects.get(pk=authenticator.pk)).get_unused_codes()
    )


@pytest.mark.django_db
@pytest.mark.parametrize("stored", ["JBSWY3DPEHPK3PXP", "ct1:", "ct1:!!!", "ct1:AAAA"])
def test_a_plain_or_damaged_secret_is_an_audited_integrity_failure(user, stored):
    authenticator = TOTP.activate(user, generate_totp_secret()).instance
    Authenticator.objects.filter(pk=authenticator.pk).update(data={"secret": stored})
    with pytest.raises(IntegrityFailure):
        mfa.unseal(stored)
    event = AuditEvent.objects.get(action=codes.CRYPTO_INTEGRITY_FAILURE)
    assert event.details["table"] == "mfa_authenticator" and stored not in str(event.details)


@pytest.mark.django_db
def test_a_secret_moved_to_another_column_does_not_open(user):
    from carethread.crypto.aead import decrypt_value

    sealed = mfa.seal("JBSWY3DPEHPK3PXP")
    envelope = base64.urlsafe_b64decode(sealed[len(mfa.MARKER) :])
    with pytest.raises(IntegrityFailure):
        decrypt_value(envelope, table="mfa_authenticator", row="mfa", field="secret")


@pytest.mark.django_db
def test_key_rotation_reencrypts_the_mfa_secrets(user):
    secret = generate_totp_secret()
    totp = TOTP.activate(user, secret).instance
    recovery = RecoveryCodes.activate(user).instance
    codes_before = RecoveryCodes(recovery).get_unused_codes()
    old = DataKey.objects.get()
    report = rotation.rotate(batch_size=1)
    assert report.reencrypted >= 2 and report.failures == 0
    new = DataKey.objects.get(state=DataKey.State.CURRENT)
    for pk in (totp.pk, recovery.pk):
        data = Authenticator.objects.get(pk=pk).data
        assert {mfa.key_id_of(v) for v in mfa.secrets_in(data)} == {new.key_id}
    old.refresh_from_db()
    assert old.state == DataKey.State.RETIRED
    keyring.clear_cache()
    assert RecoveryCodes(Authenticator.objects.get(pk=recovery.pk)).get_unused_codes() == (
        codes_before
    )
    assert signs_in_with_code(user, secret)


@pytest.mark.django_db
def test_a_recovery_code_used_during_rotation_is_not_lost(user, monkeypatch):
    recovery = RecoveryCodes.activate(user).instance
    first = RecoveryCodes(recovery).get_unused_codes()[0]
    real = mfa.encrypt_with

    def someone_uses_a_code(*args, **kwargs):
        monkeypatch.setattr(mfa, "encrypt_with", real)
        # The user spends a recovery code between the rotation's read and its write.
        assert RecoveryCodes(Authenticator.objects.get(pk=recovery.pk)).validate_code(first)
        return real(*args, **kwargs)

    monkeypatch.setattr(mfa, "encrypt_with", someone_uses_a_code)
    report = rotation.rotate(batch_size=10)
    assert report.conflicts == 1
    fresh = RecoveryCodes(Authenticator.objects.get(pk=recovery.pk))
    assert first not in fresh.get_unused_codes()  # the used code stays used
    new = DataKey.objects.get(state=DataKey.State.CURRENT)
    assert {mfa.key_id_of(v) for v in mfa.secrets_in(fresh.instance.data)} == {new.key_id}


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_seals_existing_secrets_and_can_be_reversed(user):
    secret, seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ab" * 40
    before, after = [("crypto", "0001_initial")], [("crypto", "0002_seal_mfa_secrets")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    totp = Authenticator.objects.create(user_id=user.pk, type="totp", data={"secret": secret})
    codes_row = Authenticator.objects.create(
        user_id=user.pk,
        type="recovery_codes",
        data={"seed": seed, "used_mask": 3, "migrated_codes": ["123456"]},
    )
    webauthn = Authenticator.objects.create(user_id=user.pk, type="webauthn", data={"name": "key"})

    MigrationExecutor(connection).migrate(after)
    keyring.clear_cache()
    sealed_totp = Authenticator.objects.get(pk=totp.pk).data
    sealed_codes = Authenticator.objects.get(pk=codes_row.pk).data
    assert secret not in raw_data(totp.pk) and seed not in raw_data(codes_row.pk)
    assert mfa.unseal(sealed_totp["secret"]) == secret
    assert mfa.unseal(sealed_codes["seed"]) == seed
    assert [mfa.unseal(c) for c in sealed_codes["migrated_codes"]] == ["123456"]
    assert sealed_codes["used_mask"] == 3
    assert Authenticator.objects.get(pk=webauthn.pk).data == {"name": "key"}
    # Running it again changes nothing (already sealed values are left alone).
    assert mfa.seal_all(Authenticator.objects) == 0

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    assert Authenticator.objects.get(pk=totp.pk).data == {"secret": secret}
    assert Authenticator.objects.get(pk=codes_row.pk).data == {
        "seed": seed,
        "used_mask": 3,
        "migrated_codes": ["123456"],
    }
    MigrationExecutor(connection).migrate(after)
