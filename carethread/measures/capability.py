"""``mod2-2015``: was patient messaging enabled, throughout the period, at the row's practices?

The answer comes from the audited history of the ``messaging_enabled`` setting, so a report for
a past period does not depend on today's value.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from carethread.core.models import Organization
from carethread.measures import facts

if TYPE_CHECKING:
    from carethread.measures.engine import _Row
    from carethread.measures.request import MeasureRequest


def enabled_throughout(
    changes: list[tuple[dt.datetime, bool, bool]],
    current: bool,
    period: tuple[dt.datetime, dt.datetime],
) -> bool:
    """True when the setting was on from ``period[0]`` to just before ``period[1]``."""
    start, end = period
    before = [new for when, _old, new in changes if when <= start]
    after = [(old, new) for when, old, new in changes if start < when]
    if before:
        state = before[-1]
    elif after:
        state = after[0][0]
    else:
        state = current
    if not state:
        return False
    during = [new for when, _old, new in changes if start < when < end]
    return all(during)


def rows(
    rows: dict[Any, _Row],
    period: tuple[dt.datetime, dt.datetime],
    practice: facts.Practice,
    request: MeasureRequest,
    group_visits: dict[int, tuple[int, int]] | None,
) -> list[dict[str, Any]]:
    from carethread.measures.engine import exclusions

    changes = facts.messaging_enabled_changes()
    organisations = {
        pk: (str(uuid), enabled)
        for pk, uuid, enabled in Organization.objects.values_list("id", "uuid", "messaging_enabled")
    }

    def enabled(org: int) -> bool:
        key, current = organisations[org]
        return enabled_throughout(changes.get(key, []), current, period)

    results = []
    for row in sorted(rows.values(), key=lambda r: (r.tin or "", r.npi or "")):
        value = bool(row.orgs) and all(enabled(org) for org in row.orgs)
        result: dict[str, Any] = {
            "tin": row.tin,
            "npi": row.npi,
            "value": value,
            "numerator": None,
            "denominator": None,
            "rate": None,
            "threshold": None,
            "met": value,
            "points": None,
            "exclusions": exclusions(row, request, group_visits),
            "what_it_takes": None,
            "readings": [],
        }
        if request.patients:
            result["patients"] = []
        results.append(result)
    return results
