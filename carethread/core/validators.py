"""Checks of identifiers used by CMS: NPI (Luhn with the 80840 prefix) and TIN."""

from __future__ import annotations

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
