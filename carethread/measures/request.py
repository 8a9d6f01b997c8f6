"""What a measure report is asked for: program, period, level, filters, policies, options.

``parse`` takes the strings a command line, a query string or a form gives (a
``RequestInput``) and returns a checked ``MeasureRequest``, or raises ``MeasureInputError`` with
a message for the user (the CLI exits 2, the API answers 400). Nothing is computed for a request
that fails here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet

from carethread.core.models import Organization, Practitioner
from carethread.core.text import text_problem
from carethread.core.validators import FIRST_DAY, LAST_DAY, DateOutOfRange, parse_day
from carethread.measures.programs import Level, Program, UnknownProgram, get
from carethread.measures.report import PolicyJson


class MeasureInputError(ValueError):
    """Bad input to a measure report; the message is safe to show."""


class Actors(StrEnum):
    CLINICIAN = "clinician"
    DELEGATE = "delegate"
    PRACTICE = "practice"


class Window(StrEnum):
    PERIOD = "period"
    CALENDAR_YEAR = "calendar-year"


DEFAULT_EXCLUDED_POS: tuple[str, ...] = ("21", "23")
POLICY_NAMES = ("actors", "halo", "exclude_pos", "window")


@dataclass(frozen=True)
class Policy:
    actors: Actors = Actors.CLINICIAN
    halo: bool = False
    exclude_pos: tuple[str, ...] = DEFAULT_EXCLUDED_POS
    window: Window = Window.PERIOD

    def as_arguments(self) -> list[str]:
        """The policy as the NAME=VALUE strings ``parse_policies`` reads."""
        return [
            f"actors={self.actors}",
            f"halo={'true' if self.halo else 'false'}",
            f"exclude_pos={','.join(self.exclude_pos) or 'none'}",
            f"window={self.window}",
        ]

    def as_json(self) -> PolicyJson:
        return {
            "actors": str(self.actors),
            "halo": self.halo,
            "exclude_pos": list(self.exclude_pos),
            "window": str(self.window),
        }


@dataclass(frozen=True)
class MeasureRequest:
    program: Program
    start: dt.date
    end: dt.date
    level: Level
    policy: Policy = field(default_factory=Policy)
    tin: str | None = None
    npi: str | None = None
    # (STATE, COUNTY) pairs, upper-cased; None when no list was supplied.
    low_broadband_counties: frozenset[tuple[str, str]] | None = None
    patients: bool = False

    def instants(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as UTC instants: local midnight of ``start`` up to (not including) local
        midnight after ``end``."""
        return local_midnight(self.start), local_midnight(self.end + dt.timedelta(days=1))


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in the practice's time zone (CARETHREAD_TIME_ZONE), in UTC."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class RequestInput:
    """A measure report as asked for, unchecked: the strings of a command line, a query string
    or a form. ``policies`` are ``NAME=VALUE`` strings, ``low_broadband_csv`` the text of a
    ``state,county`` file; ``None`` or ``""`` leaves an optional one out."""

    program: str
    start: str
    end: str
    level: str | None = None
    tin: str | None = None
    npi: str | None = None
    policies: Iterable[str] = ()
    low_broadband_csv: str | None = None
    patients: bool = False


def parse(given: RequestInput) -> MeasureRequest:
    """Check every input of ``given``; the request it names."""
    policies = list(given.policies)
    _check_text(
        [("program", given.program), ("start", given.start), ("end", given.end)]
        + [("level", given.level), ("tin", given.tin), ("npi", given.npi)]
        + [("low-broadband county list", given.low_broadband_csv)]
        + [("policy", item) for item in policies]
    )
    try:
        chosen = get(given.program)
    except UnknownProgram as exc:
        raise MeasureInputError(str(exc)) from None
    first, last = _date(given.start, "start"), _date(given.end, "end")
    if last < first:
        raise MeasureInputError(f"the end date {last} is before the start date {first}")
    counties = given.low_broadband_csv
    return MeasureRequest(
        program=chosen,
        start=first,
        end=last,
        level=_level(given.level, chosen),
        policy=parse_policies(policies),
        tin=_known(given.tin, Organization.objects.filter(tin=given.tin), "organisation has TIN"),
        npi=_known(given.npi, Practitioner.objects.filter(npi=given.npi), "practitioner has NPI"),
        low_broadband_counties=None if counties is None else parse_counties(counties),
        patients=given.patients,
    )


def _date(value: str, name: str) -> dt.date:
    """A day of the period, read like every date from outside (``core.validators``)."""
    try:
        return parse_day(value)
    except DateOutOfRange:
        raise MeasureInputError(
            f"{name} must be a date between {FIRST_DAY} and {LAST_DAY}, not {value!r}"
        ) from None
    except ValueError:
        raise MeasureInputError(f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


def _check_text(named: Iterable[tuple[str, str | None]]) -> None:
    for name, value in named:
        problem = None if value is None else text_problem(value)
        if problem is not None:
            raise MeasureInputError(f"{name} {problem}")


def _level(value: str | None, program: Program) -> Level:
    if value is None or value == "":
        return program.default_level
    try:
        return Level(value)
    except ValueError:
        known = ", ".join(level.value for level in Level)
        raise MeasureInputError(f"unknown level {value!r}; levels: {known}") from None


def _known(
    value: str | None, rows: QuerySet[Organization] | QuerySet[Practitioner], who: str
) -> str | None:
    """``value`` (a TIN or an NPI) when ``rows``, the rows that carry it, are not empty;
    ``None`` when none was given."""
    if value is None or value == "":
        return None
    if not rows.exists():
        raise MeasureInputError(f"no {who} {value!r}")
    return value


def parse_policies(items: Iterable[str]) -> Policy:
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in POLICY_NAMES:
            known = ", ".join(POLICY_NAMES)
            raise MeasureInputError(f"policies are NAME=VALUE with NAME one of {known}: {item!r}")
        if name in values:
            raise MeasureInputError(f"policy {name} is given twice")
        values[name] = value.strip()
    policy = Policy()
    if "actors" in values:
        policy = _replace(policy, actors=_choice(Actors, values["actors"], "actors"))
    if "halo" in values:
        halo = values["halo"].lower()
        if halo not in ("true", "false"):
            raise MeasureInputError(f"policy halo is true or false, not {values['halo']!r}")
        policy = _replace(policy, halo=halo == "true")
    if "window" in values:
        policy = _replace(policy, window=_choice(Window, values["window"], "window"))
    if "exclude_pos" in values:
        policy = _replace(policy, exclude_pos=_pos_list(values["exclude_pos"]))
    return policy


def _replace(policy: Policy, **changes: object) -> Policy:
    return Policy(**{**policy.__dict__, **changes})


def _choice(kind: type[StrEnum], value: str, name: str) -> StrEnum:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise MeasureInputError(f"policy {name} is one of {known}, not {value!r}") from None


def _pos_list(value: str) -> tuple[str, ...]:
    if value.lower() == "none" or value == "":
        return ()
    codes = [code.strip() for code in value.split(",")]
    for code in codes:
        if not (code.isdigit() and len(code) == 2):
            raise MeasureInputError(
                f"policy exclude_pos is a comma-separated list of 2-digit place-of-service "
                f"codes, or none; not {value!r}"
            )
    return tuple(sorted(set(codes)))


def parse_counties(text: str) -> frozenset[tuple[str, str]]:
    """A ``state,county`` CSV (an optional header row ``state,county``): upper-cased pairs.

    County names match with or without a trailing "County"/"Parish"/"Borough"."""
    pairs: set[tuple[str, str]] = set()
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise MeasureInputError(f"low-broadband county list: {exc}") from None
    for number, row in enumerate(rows, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise MeasureInputError(
                f"low-broadband county list, line {number}: expected 2 columns "
                f"(state,county), found {len(row)}"
            )
        state, county = (cell.strip() for cell in row)
        if number == 1 and (state.lower(), county.lower()) == ("state", "county"):
            continue
        if not (len(state) == 2 and state.isalpha()) or not county:
            raise MeasureInputError(
                f"low-broadband county list, line {number}: expected a 2-letter state and a "
                f"county name, found {state!r},{county!r}"
            )
        pairs.add((state.upper(), county_key(county)))
    if not pairs:
        raise MeasureInputError("low-broadband county list: no counties in the file")
    return frozenset(pairs)


_COUNTY_SUFFIXES = (" COUNTY", " PARISH", " BOROUGH")


def county_key(name: str) -> str:
    key = " ".join(name.upper().split())
    for suffix in _COUNTY_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key
