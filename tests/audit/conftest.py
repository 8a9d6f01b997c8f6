"""Helpers for the audit tests: write entries, and play a DBA who bypasses the triggers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from carethread.audit import triggers
from carethread.audit.actions import record
from carethread.audit.models import AuditEvent

TABLES = ("audit_auditevent", "audit_auditchainhead")


@contextmanager
def triggers_off() -> Iterator[None]:
    """What a tampering DBA does first: disable (PostgreSQL) or drop (SQLite) the triggers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            triggers.remove(connection)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for table in TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            else:
                triggers.install(connection)


def raw(sql: str, params: tuple[object, ...] = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def fetch(sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def make_entries():
    def make(count: int, **kwargs: object) -> list[AuditEvent]:
        return [
            record("test.event", details={"n": i}, **kwargs)  # type: ignore[arg-type]
            for i in range(count)
        ]

    return make


class Tamper:
    """A DBA with raw SQL: ``with tamper.triggers_off(): tamper.raw("UPDATE ...")``."""

    triggers_off = staticmethod(triggers_off)
    raw = staticmethod(raw)
    fetch = staticmethod(fetch)


@pytest.fixture
def tamper() -> Tamper:
    return Tamper()


@pytest.fixture
def cli(monkeypatch):
    """``carethread ...`` in this process (exit code returned), on the test database.

    Django closes all connections after a command run from the command line, which would end
    the test's transaction on PostgreSQL; here the connection is kept.
    """
    from django.db import connections

    from carethread.cli import main

    monkeypatch.setattr(connections, "close_all", lambda: None)
    return main


def write_key_file(path, current: str, keys: dict[str, bytes]):
    """Write a key file atomically (a new inode, so readers see the change at once)."""
    import base64
    import json
    import os

    body = {"current": current, "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()}}
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(body))
    os.replace(scratch, path)
    return path


@pytest.fixture
def key_file(tmp_path, settings):
    """A key file of this test's own with one KEK, ``kek-audit01``."""
    import secrets

    from carethread.audit import keys

    path = write_key_file(
        tmp_path / "keys.json", "kek-audit01", {"kek-audit01": secrets.token_bytes(32)}
    )
    settings.CARETHREAD_KEY_FILE = path
    keys.clear_cache()
    yield path
    keys.clear_cache()
