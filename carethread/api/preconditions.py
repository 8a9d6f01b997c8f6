"""The ``If-Match`` request header: the version a client last saw of a conversation or draft.

One reading for every route that takes it (replies, draft updates, the triage state changes), as
``docs/api.md`` describes it. Accepted: the version as an entity tag, strong (``"3"``) or weak
(``W/"3"``, RFC 9110 section 8.8.3), or as a bare number (``3``); ``*`` (any version) and an absent
header mean no precondition. Anything else is refused with ``bad_request`` (400) before the route
changes anything: an empty value, an unclosed quote (``"3``), a lower-case or unquoted weak
prefix (``w/"3"``, ``W/3``), a list of tags, a sign, a fraction, non-ASCII digits, or more than
nine digits.
"""

from __future__ import annotations

import re
from typing import Any

from ninja import Header

from carethread.messaging.errors import MessagingError

VERSION_TAG = re.compile(r'(?:W/)?"([0-9]{1,9})"|([0-9]{1,9})', re.ASCII)
MALFORMED = 'If-Match: the version number of the conversation (3, "3" or W/"3").'
DESCRIPTION = (
    'The version last seen: `3`, `"3"` or `W/"3"` (`*` or no header: no precondition). '
    "409 `stale` when it changed since; a malformed or empty value is 400."
)


def if_match_header() -> Any:
    """The route parameter that reads ``If-Match`` (described once for the OpenAPI schema)."""
    return Header(None, alias="If-Match", description=DESCRIPTION)


def expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` holds; ``None`` when the header is absent or ``*``."""
    if if_match is None:
        return None
    value = if_match.strip(" \t")
    if value == "*":
        return None
    match = VERSION_TAG.fullmatch(value)
    if match is None:
        raise MessagingError("bad_request", MALFORMED)
    return int(match.group(1) or match.group(2))
