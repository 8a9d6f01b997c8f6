"""Fixtures for the crypto tests: a fresh key file per test, and a table with encrypted values.

``Sample`` exists only in the tests. It belongs to an app label that is not installed
(``crypto_tests``), so migrations and ``makemigrations --check`` never see it; its table is
created once per test database with the schema editor. Registering it with
``carethread.crypto.registry`` (fixture ``sample_registered``) is exactly what a real app does.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from pathlib import Path

import pytest
from django.db import connection, models

from carethread.crypto import keyring, registry
from carethread.crypto.fields import EncryptedValuesMixin, encrypted_field


class Sample(EncryptedValuesMixin, models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    body_ct = encrypted_field(null=True)
    subject_ct = encrypted_field(null=True)

    class Meta:
        app_label = "crypto_tests"
        db_table = "crypto_tests_sample"

    def __str__(self) -> str:
        return str(self.uuid)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        if Sample._meta.db_table not in connection.introspection.table_names():
            with connection.schema_editor() as editor:
                editor.create_model(Sample)


def write_key_file(path: Path, current: str, keys: dict[str, bytes]) -> Path:
    body = {"current": current, "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()}}
    path.write_text(json.dumps(body))
    return path


@pytest.fixture(autouse=True)
def key_file(tmp_path, settings) -> Path:
    """A key file of its own for every test; the in-process key cache starts empty."""
    path = write_key_file(
        tmp_path / "keys.json", "kek-test0001", {"kek-test0001": secrets.token_bytes(32)}
    )
    settings.CARETHREAD_KEY_FILE = path
    keyring.clear_cache()
    yield path
    keyring.clear_cache()


@pytest.fixture
def sample_registered():
    entries = [registry.register(Sample, "body_ct"), registry.register(Sample, "subject_ct")]
    yield entries
    registry.unregister(Sample, "body_ct")
    registry.unregister(Sample, "subject_ct")


@pytest.fixture
def cli(monkeypatch):
    """``carethread ...`` in this process, on the test database (exit code returned)."""
    from django.db import connections

    from carethread.cli import main

    monkeypatch.setattr(connections, "close_all", lambda: None)
    return main
