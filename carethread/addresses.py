"""The client's address: the one function that reads it, for sign-in and enrolment throttling
(allauth's rate limits, through ``AccountAdapter.get_client_ip``), the audit trail's
``source_address`` and every other rate limit keyed by address.

Without trusted proxies (``CARETHREAD_TRUSTED_PROXIES`` empty, the default) it is the peer of
the connection (``REMOTE_ADDR``) and ``X-Forwarded-For`` is ignored: anyone can send that
header. When the peer is a trusted proxy, ``X-Forwarded-For`` is read from the right (each proxy
appends the address it received the request from) and the first address that is not a trusted
proxy is the client; everything left of it was written by the client or by proxies we do not
know, and is not believed. Several ``X-Forwarded-For`` header lines arrive joined by commas
(RFC 9110 §5.3), which reads the same. Only ``X-Forwarded-For`` is read: a proxy that writes
``Forwarded`` (RFC 7239) instead passes a client-made ``X-Forwarded-For`` through untouched.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_CACHE_ATTR = "_carethread_client_address"
MAX_HEADER_HOPS = 32  # a longer chain is not a real proxy path; the rest is not read


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: ``192.0.2.1``, ``192.0.2.1:5678``, ``2001:db8::1``,
    ``[2001:db8::1]`` or ``[2001:db8::1]:443``; ``None`` for anything else. An IPv4 address
    written as IPv6 (``::ffff:192.0.2.1``) is its IPv4 form."""
    text = text.strip()
    if not text or len(text) > 64:
        return None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        text = host
    elif text.count(":") == 1:  # IPv4 with a port
        host, _, port = text.partition(":")
        if not port.isdigit():
            return None
        text = host
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return None
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def is_trusted(address: Address, proxies: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def forwarded_client(peer: Address, header: str, proxies: Iterable[Network]) -> Address:
    """The right-most address in the X-Forwarded-For chain ``header`` that is not a trusted
    proxy, reading it only while the hop that wrote it (starting with ``peer``) is trusted."""
    proxies = tuple(proxies)
    address = peer
    hops = header.split(",")[-MAX_HEADER_HOPS:] if header else []
    for hop in reversed(hops):
        if not is_trusted(address, proxies):
            break
        parsed = parse_address(hop)
        if parsed is None:
            break  # garbage passed on by a trusted proxy: the last good hop stands
        address = parsed
    return address


def client_address(request: HttpRequest | None) -> str:
    """The client's IP address as text (at most 45 characters), or "" when unknown."""
    if request is None:
        return ""
    cached = getattr(request, _CACHE_ATTR, None)
    if isinstance(cached, str):
        return cached
    peer = parse_address(str(request.META.get("REMOTE_ADDR") or ""))
    if peer is None:
        result = ""
    else:
        proxies = getattr(settings, "CARETHREAD_TRUSTED_PROXIES", ())
        header = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
        result = str(forwarded_client(peer, header, proxies) if proxies else peer)[:45]
    setattr(request, _CACHE_ATTR, result)
    return result
