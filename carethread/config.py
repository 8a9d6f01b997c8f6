"""Typed configuration read from the environment.

Every setting the service understands is read here, once, and checked. A bad value stops the
process with a message naming the variable (exit code 2 from the CLI); a missing value falls back
to a default that makes ``make demo`` work with nothing set.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    return value


def _str(name: str, default: str) -> str:
    raw = os.environ.get(name)
    return default if raw is None or raw == "" else raw


def parse_database_url(url: str, base_dir: Path) -> dict[str, object]:
    """Turn ``sqlite:///path`` or ``postgres://user:pw@host:port/name`` into a DATABASES entry."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path
        rest = unquote(url[len("sqlite://") :])
        raw_path = rest[1:] if rest.startswith("/") else rest
        if raw_path in {"", ":memory:", "/:memory:"}:
            name: object = ":memory:"
        else:
            path = Path(raw_path)
            name = path if path.is_absolute() else base_dir / path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
        }
    if scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ConfigError(
                "DATABASE_URL must name a database, e.g. postgres://user@host:5432/db"
            )
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"DATABASE_URL has an invalid port: {url!r}") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ConfigError(f"DATABASE_URL must start with sqlite:// or postgres://, not {url!r}")


ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(raw: str) -> tuple[ProxyNetwork, ...]:
    """``CARETHREAD_TRUSTED_PROXIES``: comma-separated IP addresses or networks (CIDR)."""
    networks: list[ProxyNetwork] = []
    for part in raw.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as error:
            raise ConfigError(
                f"CARETHREAD_TRUSTED_PROXIES: {text!r} is not an IP address or a network "
                f"such as 10.0.0.0/8 ({error})"
            ) from None
        if network.prefixlen == 0:
            raise ConfigError(
                f"CARETHREAD_TRUSTED_PROXIES: {text!r} would trust every address, so any "
                "client could choose the address it is throttled and audited under"
            )
        networks.append(network)
    return tuple(networks)


@dataclass(frozen=True)
class Config:
    var_dir: Path
    debug: bool
    https: bool
    secret_key: str
    database: dict[str, object]
    time_zone: str
    key_file: Path
    smtp_url: str
    allowed_hosts: list[str]
    base_url: str
    practice_idle_minutes: int
    patient_idle_minutes: int
    login_attempts: int
    login_account_attempts: int
    trusted_proxies: tuple[ProxyNetwork, ...]
    invitation_days: int
    log_level: str
    default_from_email: str
    send_rate_per_hour: int
    attachment_max_bytes: int
    attachment_max_count: int
    outreach_limit: int
    audit_checkpoint_file: Path | None = None


def _secret_key(var_dir: Path) -> str:
    explicit = os.environ.get("CARETHREAD_SECRET_KEY")
    if explicit:
        if len(explicit) < 50:
            raise ConfigError("CARETHREAD_SECRET_KEY must be at least 50 characters long")
        return explicit
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


def _ensure_key_file(path: Path) -> Path:
    """Create the key-encryption key file (256 random bits, owner-only) if it does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key_id = "kek-" + secrets.token_hex(4)
        body = json.dumps(
            {
                "current": key_id,
                "keys": {key_id: base64.b64encode(secrets.token_bytes(32)).decode()},
            }
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path
        with os.fdopen(fd, "w") as fh:
            fh.write(body + "\n")
    return path


def load() -> Config:
    var_dir = Path(_str("CARETHREAD_VAR_DIR", "var")).resolve()
    time_zone = _str("CARETHREAD_TIME_ZONE", "America/New_York")
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"CARETHREAD_TIME_ZONE is not a known time zone: {time_zone!r}") from None
    database_url = _str("DATABASE_URL", f"sqlite:///{var_dir / 'carethread.sqlite3'}")
    hosts = [h.strip() for h in _str("CARETHREAD_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]
    https = _bool("CARETHREAD_HTTPS", False)
    base_url = _str(
        "CARETHREAD_BASE_URL", "https://localhost" if https else "http://127.0.0.1:8000"
    )
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"CARETHREAD_BASE_URL must be an http(s) URL, not {base_url!r}")
    smtp_url = _str("CARETHREAD_SMTP_URL", "smtp://127.0.0.1:8025")
    if not smtp_url.startswith(("smtp://", "smtps://", "smtp+starttls://")):
        raise ConfigError(
            "CARETHREAD_SMTP_URL must start with smtp://, smtps:// or smtp+starttls://, "
            f"not {smtp_url!r}"
        )
    log_level = _str("CARETHREAD_LOG_LEVEL", "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(
            f"CARETHREAD_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {log_level!r}"
        )
    login_attempts = _int("CARETHREAD_LOGIN_ATTEMPTS", 5, minimum=1)
    login_account_attempts = _int("CARETHREAD_LOGIN_ACCOUNT_ATTEMPTS", 100, minimum=1)
    if login_account_attempts < login_attempts:
        raise ConfigError(
            "CARETHREAD_LOGIN_ACCOUNT_ATTEMPTS (all addresses together) must be at least "
            f"CARETHREAD_LOGIN_ATTEMPTS ({login_attempts}), not {login_account_attempts}"
        )
    return Config(
        var_dir=var_dir,
        debug=_bool("CARETHREAD_DEBUG", False),
        https=https,
        secret_key=_secret_key(var_dir),
        database=parse_database_url(database_url, Path.cwd()),
        time_zone=time_zone,
        key_file=_ensure_key_file(
            Path(_str("CARETHREAD_KEY_FILE", str(var_dir / "keys.json"))).resolve()
        ),
        smtp_url=smtp_url,
        allowed_hosts=[h for h in hosts if h],
        base_url=base_url.rstrip("/"),
        practice_idle_minutes=_int("CARETHREAD_PRACTICE_IDLE_MINUTES", 15, minimum=1),
        patient_idle_minutes=_int("CARETHREAD_PATIENT_IDLE_MINUTES", 30, minimum=1),
        login_attempts=login_attempts,
        login_account_attempts=login_account_attempts,
        trusted_proxies=parse_trusted_proxies(_str("CARETHREAD_TRUSTED_PROXIES", "")),
        invitation_days=_int("CARETHREAD_INVITATION_DAYS", 14, minimum=1),
        log_level=log_level,
        default_from_email=_str("CARETHREAD_FROM_EMAIL", "no-reply@carethread.localhost"),
        send_rate_per_hour=_int("CARETHREAD_SEND_RATE_PER_HOUR", 120, minimum=1),
        attachment_max_bytes=_int("CARETHREAD_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1),
        attachment_max_count=_int("CARETHREAD_ATTACHMENT_MAX_COUNT", 5, minimum=1),
        outreach_limit=_int("CARETHREAD_OUTREACH_LIMIT", 500, minimum=1),
        audit_checkpoint_file=(
            Path(os.environ["CARETHREAD_AUDIT_CHECKPOINT_FILE"]).resolve()
            if os.environ.get("CARETHREAD_AUDIT_CHECKPOINT_FILE")
            else None
        ),
    )


@dataclass(frozen=True)
class SMTPTarget:
    host: str
    port: int
    user: str
    password: str
    starttls: bool
    ssl: bool


def parse_smtp_url(url: str) -> SMTPTarget:
    """``smtp://user:pw@host:port``, ``smtps://`` (implicit TLS) or ``smtp+starttls://``."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"CARETHREAD_SMTP_URL has an invalid port: {url!r}") from None
    ssl = parts.scheme == "smtps"
    return SMTPTarget(
        host=parts.hostname or "127.0.0.1",
        port=port or (465 if ssl else 25),
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        starttls=parts.scheme == "smtp+starttls",
        ssl=ssl,
    )
