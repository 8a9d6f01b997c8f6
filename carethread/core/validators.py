"""Checks of identifiers used by CMS (NPI: Luhn with the 80840 prefix; TIN; place of service),
and of the dates the service accepts from outside.

Every date and date-time a person or a client sends (API fields, form fields, query parameters,
the measure command's period) is read here and must fall between ``FIRST_DAY`` and ``LAST_DAY``:
wide enough for any birth date, visit or report, narrow enough that moving it to another time
zone or adding a period to it can never overflow.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError

_NPI_RE = re.compile(r"^\d{10}$")
_TIN_RE = re.compile(r"^\d{9}$")
POS_RE = re.compile(r"^\d{2}$")


def luhn_checksum_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def npi_is_valid(npi: str) -> bool:
    """A 10-digit NPI whose last digit is the Luhn check digit over ``80840`` + the first nine."""
    return bool(_NPI_RE.match(npi)) and luhn_checksum_ok("80840" + npi)


def npi_check_digit(first_nine: str) -> str:
    """The check digit that makes ``first_nine`` + digit a valid NPI."""
    for digit in "0123456789":
        if luhn_checksum_ok("80840" + first_nine + digit):
            return digit
    raise ValueError(first_nine)  # unreachable: one digit always fits


def tin_is_valid(tin: str) -> bool:
    return bool(_TIN_RE.match(tin)) and tin != "000000000"


def validate_npi(value: str) -> None:
    if not npi_is_valid(value):
        raise ValidationError(
            "%(value)s is not a valid NPI (10 digits, Luhn check)", params={"value": value}
        )


def validate_tin(value: str) -> None:
    if not tin_is_valid(value):
        raise ValidationError("%(value)s is not a valid TIN (9 digits)", params={"value": value})


def validate_pos(value: str) -> None:
    if not POS_RE.match(value):
        raise ValidationError(
            "%(value)s is not a place-of-service code (2 digits)", params={"value": value}
        )


# -- dates from outside ----------------------------------------------------------------------------

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)
OUT_OF_RANGE = f"The date must be between {FIRST_DAY} and {LAST_DAY}."
_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class DateOutOfRange(ValueError):
    """A real date, outside ``FIRST_DAY``..``LAST_DAY``."""


def check_day(day: dt.date) -> dt.date:
    """``day`` if it is within the accepted range, else ``ValueError``."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DateOutOfRange(OUT_OF_RANGE)
    return day


def check_instant(value: dt.datetime) -> dt.datetime:
    """A date-time within the accepted range (its own calendar day is checked, before any
    conversion); an aware one is returned in UTC, a naive one as it is."""
    check_day(value.date())
    return value.astimezone(dt.UTC) if value.tzinfo is not None else value


def parse_day(text: str) -> dt.date:
    """A date written ``YYYY-MM-DD`` within the accepted range, else ``ValueError``."""
    if not isinstance(text, str) or not _DAY_RE.fullmatch(text):
        raise ValueError("The date must be written YYYY-MM-DD.")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("The date must be written YYYY-MM-DD.") from None
    return check_day(day)


def validate_date_in_range(value: dt.date | dt.datetime | None) -> None:
    """The range as a Django validator (``DateField``, ``DateTimeField``)."""
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(OUT_OF_RANGE, code="date_out_of_range")
