"""encrypt_value / decrypt_value: round trip, binding to table/row/field, audited failures."""

from __future__ import annotations

import uuid

import pytest

from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.crypto import aead, keyring
from carethread.crypto.aead import Envelope, IntegrityFailure, decrypt_value, encrypt_value
from carethread.crypto.models import DataKey

from .conftest import Sample

pytestmark = pytest.mark.django_db

WHERE = {"table": "messaging_message", "field": "body_ct"}


def failures() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=codes.CRYPTO_INTEGRITY_FAILURE))


def test_round_trip_text_and_bytes():
    row = uuid.uuid4()
    env = encrypt_value("Chest pain since Tuesday", row=row, **WHERE)
    assert b"Chest pain" not in env
    assert decrypt_value(env, row=row, **WHERE) == b"Chest pain since Tuesday"
    blob = bytes(range(256)) * 3
    assert decrypt_value(encrypt_value(blob, row=row, **WHERE), row=row, **WHERE) == blob
    assert decrypt_value(encrypt_value("", row=row, **WHERE), row=row, **WHERE) == b""


def test_envelope_layout_and_first_key_is_made_on_first_use():
    assert not DataKey.objects.exists()
    env = encrypt_value("x", row=uuid.uuid4(), **WHERE)
    key = DataKey.objects.get()
    assert key.state == DataKey.State.CURRENT
    assert env[0] == 1 and env[1] == len(key.key_id)
    assert env[2 : 2 + env[1]].decode() == key.key_id
    assert len(env) == 2 + len(key.key_id) + 12 + 1 + 16


def test_nonce_differs_per_encryption():
    row = uuid.uuid4()
    envs = [Envelope.parse(encrypt_value("same", row=row, **WHERE)) for _ in range(50)]
    assert len({e.nonce for e in envs}) == 50
    assert len({e.ciphertext for e in envs}) == 50


def test_copied_to_another_row_fails_and_is_audited():
    row, other = uuid.uuid4(), uuid.uuid4()
    env = encrypt_value("secret", row=row, **WHERE)
    with pytest.raises(IntegrityFailure) as caught:
        decrypt_value(env, row=other, **WHERE)
    assert caught.value.reason == "bad_tag"
    [event] = failures()
    assert event.outcome == "failure"
    assert event.object_id == str(other)
    assert event.details == {
        "table": "messaging_message",
        "field": "body_ct",
        "key_id": DataKey.objects.get().key_id,
        "reason": "bad_tag",
    }


def test_copied_to_another_field_or_table_fails():
    row = uuid.uuid4()
    env = encrypt_value("secret", row=row, **WHERE)
    with pytest.raises(IntegrityFailure):
        decrypt_value(env, row=row, table="messaging_message", field="subject_ct")
    with pytest.raises(IntegrityFailure):
        decrypt_value(env, row=row, table="messaging_attachment", field="body_ct")
    assert len(failures()) == 2


@pytest.mark.parametrize("position", [0, 1, 5, 20, -1, -17])
def test_flipped_bit_fails(position):
    row = uuid.uuid4()
    env = bytearray(encrypt_value("a message body", row=row, **WHERE))
    env[position] ^= 0x01
    with pytest.raises(IntegrityFailure):
        decrypt_value(bytes(env), row=row, **WHERE)
    assert len(failures()) == 1


def test_unknown_key_id_fails():
    row = uuid.uuid4()
    parsed = Envelope.parse(encrypt_value("hello", row=row, **WHERE))
    forged = Envelope("dek-000000000000", parsed.nonce, parsed.ciphertext).to_bytes()
    with pytest.raises(IntegrityFailure) as caught:
        decrypt_value(forged, row=row, **WHERE)
    assert caught.value.reason == "unknown_key"
    assert failures()[0].details["key_id"] == "dek-000000000000"


@pytest.mark.parametrize("data", [b"", b"\x01", b"\x02\x03abc" + bytes(40), b"\x01\x03ab"])
def test_malformed_envelope_fails(data):
    with pytest.raises(IntegrityFailure):
        decrypt_value(data, row=uuid.uuid4(), **WHERE)
    assert len(failures()) == 1


def test_relabelled_with_another_existing_key_fails():
    row = uuid.uuid4()
    first = Envelope.parse(encrypt_value("hello", row=row, **WHERE))
    DataKey.objects.update(state=DataKey.State.PREVIOUS)
    keyring.clear_cache()
    second_id = Envelope.parse(encrypt_value("other", row=row, **WHERE)).key_id
    assert second_id != first.key_id
    relabelled = Envelope(second_id, first.nonce, first.ciphertext).to_bytes()
    with pytest.raises(IntegrityFailure):
        decrypt_value(relabelled, row=row, **WHERE)


def test_binding_refuses_ambiguous_names():
    with pytest.raises(ValueError):
        encrypt_value("x", table="a|b", row=uuid.uuid4(), field="body_ct")
    with pytest.raises(ValueError):
        encrypt_value("x", table="t", row="1|2", field="body_ct")


def test_model_mixin_seal_and_unseal():
    sample = Sample()
    sample.seal("body_ct", "Refill please")
    sample.save()
    fresh = Sample.objects.get(pk=sample.pk)
    assert fresh.unseal("body_ct") == "Refill please"
    assert fresh.unseal("subject_ct") is None
    other = Sample.objects.create()
    other.body_ct = fresh.body_ct  # copied to another row
    with pytest.raises(IntegrityFailure):
        other.unseal("body_ct")
    assert failures()[0].object_id == str(other.uuid)


def test_no_weak_primitives_in_the_app():
    import pathlib

    source = "".join(
        p.read_text() for p in pathlib.Path(aead.__file__).parent.rglob("*.py")
    ).lower()
    for weak in ("md5", "sha1", "sha-1", "fernet"):
        assert weak not in source
