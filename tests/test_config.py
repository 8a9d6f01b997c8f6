from pathlib import Path

import pytest

from carethread import config


def test_sqlite_url_relative_and_absolute(tmp_path):
    rel = config.parse_database_url("sqlite:///var/db.sqlite3", tmp_path)
    assert rel["NAME"] == tmp_path / "var/db.sqlite3"
    absolute = config.parse_database_url("sqlite:////srv/ct/db.sqlite3", tmp_path)
    assert absolute["NAME"] == Path("/srv/ct/db.sqlite3")


def test_postgres_url():
    db = config.parse_database_url(
        "postgres://ct:s%40cret@db.internal:6543/carethread?sslmode=require", Path(".")
    )
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "carethread",
        "ct",
        "s@cret",
        "db.internal",
        "6543",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "postgres://host:5432/", "postgres://host:99999999/db"]
)
def test_bad_database_url_is_a_config_error(url):
    with pytest.raises(config.ConfigError):
        config.parse_database_url(url, Path("."))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CARETHREAD_TIME_ZONE", "Mars/Olympus"),
        ("CARETHREAD_PRACTICE_IDLE_MINUTES", "soon"),
        ("CARETHREAD_PRACTICE_IDLE_MINUTES", "0"),
        ("CARETHREAD_HTTPS", "maybe"),
        ("CARETHREAD_SECRET_KEY", "short"),
        ("CARETHREAD_SMTP_URL", "http://mail"),
    ],
)
def test_bad_environment_values_are_named(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv("CARETHREAD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match=name):
        config.load()


def test_first_run_generates_secret_and_key_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CARETHREAD_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("CARETHREAD_SECRET_KEY", raising=False)
    monkeypatch.delenv("CARETHREAD_KEY_FILE", raising=False)
    first = config.load()
    second = config.load()
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 50
    assert first.key_file == tmp_path / "keys.json"
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_smtp_url():
    target = config.parse_smtp_url("smtp+starttls://u:p@mail.example.org:587")
    assert (
        target.host,
        target.port,
        target.user,
        target.password,
        target.starttls,
        target.ssl,
    ) == (
        "mail.example.org",
        587,
        "u",
        "p",
        True,
        False,
    )
