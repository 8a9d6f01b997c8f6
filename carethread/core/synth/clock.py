"""Local wall-clock times of one calendar year, rendered as FHIR dateTimes with the UTC offset
each practice's time zone has on that day (daylight saving time included)."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

EARLY_MORNING = 4 * 60  # minutes; DST switches happen before this hour in the US


class YearClock:
    def __init__(self, year: int) -> None:
        self.year = year
        first = dt.date(year, 1, 1)
        self.days = [
            first + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - first).days)
        ]
        self.day_strings = [day.isoformat() for day in self.days]
        self.weekdays = [i for i, day in enumerate(self.days) if day.weekday() < 5]
        self._offsets: dict[str, list[str]] = {}
        self._switch_days: dict[str, frozenset[int]] = {}

    def offsets(self, zone: zoneinfo.ZoneInfo) -> list[str]:
        """Per day of the year, the zone's UTC offset ("-05:00") from 04:00 local time on."""
        key = zone.key
        if key not in self._offsets:
            noon = [dt.datetime.combine(day, dt.time(12), tzinfo=zone) for day in self.days]
            self._offsets[key] = [_format_offset(moment.utcoffset()) for moment in noon]
            midnight = [dt.datetime.combine(day, dt.time(0), tzinfo=zone) for day in self.days]
            self._switch_days[key] = frozenset(
                i
                for i, (a, b) in enumerate(zip(midnight, noon, strict=True))
                if a.utcoffset() != b.utcoffset()
            )
        return self._offsets[key]

    def switch_days(self, zone: zoneinfo.ZoneInfo) -> frozenset[int]:
        """Days of the year on which the zone changes its offset (before 04:00 local time)."""
        self.offsets(zone)
        return self._switch_days[zone.key]

    def stamp(self, zone: zoneinfo.ZoneInfo, day: int, minute: int) -> str:
        """``YYYY-MM-DDThh:mm:00±hh:mm``; ``minute`` must not fall before 04:00 on a switch day."""
        hour, minute = divmod(minute, 60)
        return f"{self.day_strings[day]}T{hour:02d}:{minute:02d}:00{self.offsets(zone)[day]}"


@functools.cache
def year_clock(year: int) -> YearClock:
    return YearClock(year)


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> str:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).isoformat()


def _format_offset(offset: dt.timedelta | None) -> str:
    minutes = int((offset or dt.timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"
