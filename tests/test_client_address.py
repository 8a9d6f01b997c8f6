"""The client's address: X-Forwarded-For believed only through trusted proxies, right to left."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from carethread.addresses import client_address, parse_address
from carethread.config import ConfigError, parse_trusted_proxies

PROXIES = "10.0.0.5, 10.1.0.0/16, 2001:db8:ffff::/48"


def address(settings, trusted: str, remote: str, xff: str | None = None, **meta: str) -> str:
    settings.CARETHREAD_TRUSTED_PROXIES = parse_trusted_proxies(trusted)
    if xff is not None:
        meta["HTTP_X_FORWARDED_FOR"] = xff
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **meta))


@pytest.mark.parametrize(
    ("remote", "xff", "expected"),
    [
        # No header, or a peer that is not a proxy: the peer.
        ("198.51.100.7", None, "198.51.100.7"),
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # spoofed by an untrusted peer
        ("203.0.113.9", "10.0.0.5, 198.51.100.7", "203.0.113.9"),
        # One trusted proxy in front: the address it appended.
        ("10.0.0.5", "198.51.100.7", "198.51.100.7"),
        # Client-made hops to the left of what the proxy appended are not believed.
        ("10.0.0.5", "1.1.1.1, 2.2.2.2,198.51.100.7", "198.51.100.7"),
        # Two header lines, as the server joins them (", "), read the same as one list.
        ("10.0.0.5", "1.1.1.1, 198.51.100.7", "198.51.100.7"),
        # A chain of trusted proxies (address and network): the first untrusted from the right.
        ("10.0.0.5", "198.51.100.7, 10.1.2.3", "198.51.100.7"),
        ("10.1.9.9", "6.6.6.6, 198.51.100.7, 10.1.2.3, 10.0.0.5", "198.51.100.7"),
        # Every hop trusted: the left-most one.
        ("10.0.0.5", "10.1.2.3", "10.1.2.3"),
        # Ports and IPv6 forms as proxies write them.
        ("10.0.0.5", "198.51.100.7:53211", "198.51.100.7"),
        ("10.0.0.5", "[2001:db8::7]:443", "2001:db8::7"),
        ("10.0.0.5", "2001:db8::7", "2001:db8::7"),
        ("2001:db8:ffff::1", "198.51.100.7", "198.51.100.7"),
        ("10.0.0.5", "::ffff:198.51.100.7", "198.51.100.7"),
        # Garbage or an empty hop where the client should be: the proxy's own address.
        ("10.0.0.5", "not-an-address", "10.0.0.5"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "198.51.100.7, ", "10.0.0.5"),
        ("10.0.0.5", "x" * 10_000, "10.0.0.5"),
    ],
)
def test_client_address_with_trusted_proxies(settings, remote, xff, expected):
    assert address(settings, PROXIES, remote, xff) == expected


def test_without_trusted_proxies_the_header_is_ignored(settings):
    assert address(settings, "", "10.0.0.5", "198.51.100.7") == "10.0.0.5"


def test_the_forwarded_header_is_not_read(settings):
    # A proxy that manages X-Forwarded-For passes a client-made Forwarded header through.
    assert (
        address(settings, PROXIES, "10.0.0.5", "198.51.100.7", HTTP_FORWARDED="for=6.6.6.6")
        == "198.51.100.7"
    )


def test_a_long_chain_is_read_no_further_than_its_last_hops(settings):
    chain = ", ".join(["10.1.0.1"] * 100)
    assert address(settings, PROXIES, "10.0.0.5", f"6.6.6.6, {chain}") == "10.1.0.1"


def test_no_request_or_no_peer_is_unknown(settings):
    assert client_address(None) == ""
    assert address(settings, PROXIES, "") == ""


@pytest.mark.parametrize("text", ["1.2.3", "1.2.3.4:x", "[::1", "[::1]x", "fe80::1%eth0", ""])
def test_parse_address_refuses_what_is_not_an_address(text):
    assert parse_address(text) is None


def test_trusted_proxies_are_parsed():
    networks = parse_trusted_proxies(" 10.0.0.5 ,10.1.0.0/16,,2001:db8::/32 ")
    assert [str(n) for n in networks] == ["10.0.0.5/32", "10.1.0.0/16", "2001:db8::/32"]
    assert parse_trusted_proxies("") == ()


@pytest.mark.parametrize(
    "raw", ["proxy.internal", "10.0.0.300", "10.0.0.1/8", "10.0.0.0/33", "0.0.0.0/0", "::/0"]
)
def test_bad_trusted_proxies_are_a_config_error(raw):
    with pytest.raises(ConfigError, match="CARETHREAD_TRUSTED_PROXIES"):
        parse_trusted_proxies(raw)


def test_config_reads_trusted_proxies_and_the_account_ceiling(monkeypatch, tmp_path):
    from carethread import config

    monkeypatch.setenv("CARETHREAD_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("CARETHREAD_TRUSTED_PROXIES", "10.0.0.5")
    loaded = config.load()
    assert [str(n) for n in loaded.trusted_proxies] == ["10.0.0.5/32"]
    assert loaded.login_account_attempts == 100
    monkeypatch.setenv("CARETHREAD_LOGIN_ACCOUNT_ATTEMPTS", "3")
    with pytest.raises(ConfigError, match="CARETHREAD_LOGIN_ACCOUNT_ATTEMPTS"):
        config.load()
    monkeypatch.setenv("CARETHREAD_LOGIN_ACCOUNT_ATTEMPTS", "100")
    monkeypatch.setenv("CARETHREAD_TRUSTED_PROXIES", "10.0.0.5,bogus")
    with pytest.raises(ConfigError, match="bogus"):
        config.load()
