"""Key rotation, KEK changes and a wrong key file."""

from __future__ import annotations

import secrets

import pytest

from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.crypto import actions, keyring, rotation
from carethread.crypto.aead import envelope_key_id
from carethread.crypto.models import DataKey
from carethread.keyfile import KeyRingError, load_key_file

from .conftest import Sample, write_key_file

pytestmark = pytest.mark.django_db


def make_samples(count: int) -> list[Sample]:
    rows = []
    for i in range(count):
        sample = Sample()
        sample.seal("body_ct", f"body {i}")
        if i % 2:
            sample.seal("subject_ct", f"subject {i}")
        sample.save()
        rows.append(sample)
    return rows


def contents() -> dict[str, tuple[str | None, str | None]]:
    return {
        str(s.uuid): (s.unseal("body_ct"), s.unseal("subject_ct")) for s in Sample.objects.all()
    }


def key_ids() -> set[str]:
    found = set()
    for s in Sample.objects.all():
        found |= {envelope_key_id(v) for v in (s.body_ct, s.subject_ct) if v is not None}
    return found


class ReadAll:
    """Progress that decrypts every value after each batch: nothing is unreadable mid-way."""

    def __init__(self, expected):
        self.expected, self.checks = expected, 0

    enabled = True

    def task(self, label, total):
        return self.advance

    def advance(self, count):
        keyring.clear_cache()  # as a freshly started server process would
        assert contents() == self.expected
        self.checks += 1


def test_rotation_reencrypts_everything_and_retires_the_old_key(sample_registered):
    make_samples(7)
    old = DataKey.objects.get()
    before = contents()
    progress = ReadAll(before)
    report = rotation.rotate(batch_size=2, progress=progress)
    assert progress.checks > 3  # several batches, each checked
    new = DataKey.objects.get(state=DataKey.State.CURRENT)
    assert new.key_id == report.new_key_id != old.key_id
    assert key_ids() == {new.key_id}
    assert report.reencrypted == 7 + 3
    keyring.clear_cache()
    assert contents() == before
    old.refresh_from_db()
    assert old.state == DataKey.State.RETIRED and old.retired_at is not None
    # A retired key still decrypts: nothing ever becomes unreadable.
    assert keyring.data_key(old.key_id) is not None


def test_old_key_kept_while_a_value_still_uses_it(sample_registered):
    rows = make_samples(3)
    old = DataKey.objects.get()
    broken = bytearray(rows[1].body_ct)
    broken[-1] ^= 1
    Sample.objects.filter(pk=rows[1].pk).update(body_ct=bytes(broken))
    report = rotation.rotate(batch_size=10)
    assert report.failures == 1
    old.refresh_from_db()
    assert old.state == DataKey.State.PREVIOUS  # still used by the damaged value: not retired
    assert AuditEvent.objects.filter(
        action=codes.CRYPTO_INTEGRITY_FAILURE, object_id=str(rows[1].uuid)
    ).exists()
    assert Sample.objects.get(pk=rows[1].pk).body_ct == bytes(broken)  # left as it was
    assert Sample.objects.get(pk=rows[0].pk).unseal("body_ct") == "body 0"


def test_concurrent_write_during_a_batch_is_not_lost(sample_registered, monkeypatch):
    rows = make_samples(3)
    target = rows[1]
    real_decrypt = actions.decrypt_value

    def decrypt_then_someone_writes(envelope, *, table, row, field, **kw):
        plaintext = real_decrypt(envelope, table=table, row=row, field=field, **kw)
        if str(row) == str(target.uuid) and field == "body_ct":
            # An editor saves a new value between the rotation's read and its write.
            editor = Sample.objects.get(pk=target.pk)
            editor.seal("body_ct", "edited concurrently")
            editor.save(update_fields=["body_ct"])
        return plaintext

    monkeypatch.setattr(actions, "decrypt_value", decrypt_then_someone_writes)
    report = rotation.rotate(batch_size=10)
    assert report.conflicts >= 1
    assert Sample.objects.get(pk=target.pk).unseal("body_ct") == "edited concurrently"
    assert Sample.objects.get(pk=rows[0].pk).unseal("body_ct") == "body 0"


def test_unregistered_values_keep_their_key(sample_registered):
    make_samples(2)
    old = DataKey.objects.get()
    from carethread.crypto import registry

    registry.unregister(Sample, "subject_ct")
    rotation.rotate()
    old.refresh_from_db()
    assert old.state == DataKey.State.RETIRED  # the registry is the contract
    keyring.clear_cache()
    assert contents()  # retired keys still decrypt the value rotation did not know about


def test_new_kek_rewraps_every_data_key(sample_registered, key_file):
    make_samples(2)
    old_kek = load_key_file().keys["kek-test0001"]
    write_key_file(
        key_file, "kek-test0002", {"kek-test0001": old_kek, "kek-test0002": secrets.token_bytes(32)}
    )
    report = rotation.rotate(new_kek=True)
    assert report.rewrapped == 1
    assert set(DataKey.objects.values_list("kek_id", flat=True)) == {"kek-test0002"}
    # The old KEK can now leave the key file.
    new_kek = load_key_file().keys["kek-test0002"]
    write_key_file(key_file, "kek-test0002", {"kek-test0002": new_kek})
    keyring.clear_cache()
    assert len(contents()) == 2


def test_wrong_key_file_fails_loudly(key_file):
    from carethread.crypto.aead import decrypt_value, encrypt_value

    env = encrypt_value("x", table="t", row="1", field="f")
    write_key_file(key_file, "kek-test0001", {"kek-test0001": secrets.token_bytes(32)})
    keyring.clear_cache()
    with pytest.raises(KeyRingError, match="does not match this database"):
        decrypt_value(env, table="t", row="1", field="f")
    write_key_file(key_file, "kek-other", {"kek-other": secrets.token_bytes(32)})
    with pytest.raises(KeyRingError, match="has no key-encryption key 'kek-test0001'"):
        decrypt_value(env, table="t", row="1", field="f")
    key_file.write_text("{not json")
    with pytest.raises(KeyRingError, match="not valid JSON"):
        decrypt_value(env, table="t", row="1", field="f")


@pytest.mark.parametrize(
    "body",
    [
        '{"current": "a", "keys": {"a": "c2hvcnQ="}}',
        '{"current": "b", "keys": {"a": "' + "A" * 43 + '="}}',
        '{"keys": []}',
    ],
)
def test_bad_key_file_is_refused(key_file, body):
    key_file.write_text(body)
    with pytest.raises(KeyRingError, match=str(key_file)):
        load_key_file()


# The command --------------------------------------------------------------------------------


def test_keys_rotate_command(sample_registered, cli, capsys):
    make_samples(4)
    assert cli(["keys", "rotate", "--batch-size", "3"]) == 0
    out = capsys.readouterr().out
    new = DataKey.objects.get(state=DataKey.State.CURRENT)
    assert f"new data key {new.key_id}: 6 of 6 values re-encrypted" in out
    assert key_ids() == {new.key_id}
    event = AuditEvent.objects.get(action=codes.KEYS_ROTATED)
    assert event.outcome == "success"
    assert event.details["reencrypted"] == 6 and event.details["retired"] == 1
    assert event.actor_role == "operator"
    assert cli(["keys", "status"]) == 0
    assert "retired" in capsys.readouterr().out


def test_keys_rotate_bad_input_exits_2(cli, capsys, key_file):
    assert cli(["keys", "rotate", "--batch-size", "0"]) == 2
    assert "--batch-size must be at least 1" in capsys.readouterr().err
    assert cli(["keys", "rotate", "--batch-size", "x"]) == 2
    keyring.current_data_key()
    write_key_file(key_file, "kek-test0001", {"kek-test0001": secrets.token_bytes(32)})
    assert cli(["keys", "rotate"]) == 2
    assert "does not match this database" in capsys.readouterr().err
    assert DataKey.objects.count() == 1  # nothing changed


def test_keys_rotate_exits_1_when_a_value_fails(sample_registered, cli, capsys):
    rows = make_samples(1)
    Sample.objects.filter(pk=rows[0].pk).update(body_ct=b"\x01\x02xx" + bytes(40))
    assert cli(["keys", "rotate"]) == 1
    assert "1 value(s) failed their integrity check" in capsys.readouterr().err
    assert AuditEvent.objects.get(action=codes.KEYS_ROTATED).outcome == "failure"
