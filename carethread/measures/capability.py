"""``mod2-2015``: was patient messaging enabled, throughout the period, at the row's practices?

The answer comes from the audited history of the ``messaging_enabled`` setting, so a report for
a past period does not depend on today's value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from carethread.core.models import Organization
from carethread.measures import facts


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


def checker(period: tuple[dt.datetime, dt.datetime]) -> Callable[[Iterable[int]], bool]:
    """A test of organisations (by key): was messaging on at every one throughout ``period``?
    Reads the audited changes of every organisation once."""
    changes = facts.messaging_enabled_changes()
    organisations = {
        pk: (str(uuid), enabled)
        for pk, uuid, enabled in Organization.objects.values_list("id", "uuid", "messaging_enabled")
    }

    def enabled(orgs: Iterable[int]) -> bool:
        states = [
            enabled_throughout(
                changes.get(organisations[org][0], []), organisations[org][1], period
            )
            for org in orgs
        ]
        return bool(states) and all(states)

    return enabled
