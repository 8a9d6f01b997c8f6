"""Writes to a practice's profile (name, phone number) and its locations, each in one
transaction with its audit entry.

The caller has already asked the administrators' gate (``accounts.access``); these functions
check the values themselves (a ``ValidationError`` naming the field, nothing written). A profile
change is one ``setting.changed`` entry per field with the old and new values; a location's
creation or change is one ``location.create`` / ``location.update`` entry with the old and new
value of each field that changed (a practice's profile and its places are not PHI).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import Location, Organization
from carethread.core.validators import validate_pos

if TYPE_CHECKING:
    from carethread.accounts.models import User

# The 50 states, the District of Columbia and the inhabited territories (USPS codes).
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "AS",
        "GU",
        "MP",
        "PR",
        "VI",
    ]
)
# Names are recorded in the audit trail, whose detail strings hold at most 100 characters.
MAX_NAME = 100
MAX_COUNTY = 100
# Separators people type in a phone number; an extension after "x", "ext" or "ext.".
_PHONE_SEPARATORS = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"\+?1?([2-9][0-9]{2})([2-9][0-9]{2})([0-9]{4})")
_EXTENSION = re.compile(r"(?i)\s*(?:x|ext\.?|extension)\s*([0-9]{1,6})\s*$")

PHONE_ERROR = "Enter a US phone number with its area code, for example (555) 201-3344."


def normalize_phone(value: str) -> str:
    """A North American phone number written one way, ``(555) 201-3344`` (``ext. 12`` after an
    extension); empty stays empty. ``ValidationError`` for anything else."""
    text = (value or "").strip()
    if not text:
        return ""
    extension = ""
    found = _EXTENSION.search(text)
    if found is not None:
        extension = found.group(1)
        text = text[: found.start()]
    match = _PHONE.fullmatch(_PHONE_SEPARATORS.sub("", text))
    if match is None:
        raise ValidationError(PHONE_ERROR)
    area, exchange, line = match.groups()
    number = f"({area}) {exchange}-{line}"
    return f"{number} ext. {extension}" if extension else number


def normalize_state(value: str) -> str:
    """A two-letter US state or territory code in capitals; empty stays empty."""
    code = (value or "").strip().upper()
    if code and code not in US_STATES:
        raise ValidationError("Enter the two-letter code of a US state, for example OH.")
    return code


def _name(value: str, what: str) -> str:
    name = (value or "").strip()
    if not name:
        raise ValidationError(f"Enter the {what}'s name.")
    if len(name) > MAX_NAME:
        raise ValidationError(f"The name is too long (at most {MAX_NAME} characters).")
    return name


def _checked(fields: dict[str, tuple[object, object]]) -> dict[str, str]:
    """Each field's cleaned value (``fields``: name -> (value, cleaner)); a ``ValidationError``
    naming every field that is wrong."""
    errors: dict[str, ValidationError] = {}
    cleaned: dict[str, str] = {}
    for name, (value, clean) in fields.items():
        try:
            cleaned[name] = clean(value)  # type: ignore[operator]
        except ValidationError as exc:
            errors[name] = exc
    if errors:
        raise ValidationError(errors)
    return cleaned


class ProfileChange(TypedDict, total=False):
    """The practice's profile fields to change; one left out stays as it is."""

    name: str
    phone: str


def update_profile(
    organization: Organization,
    change: ProfileChange,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> Organization:
    """Apply ``change`` to the practice's name and phone number."""
    cleaners = {"name": lambda v: _name(v, "practice"), "phone": normalize_phone}
    wanted = _checked({k: (v, cleaners[k]) for k, v in change.items() if k in cleaners})
    with transaction.atomic():
        current = Organization.objects.select_for_update().get(pk=organization.pk)
        changed = {
            k: (getattr(current, k), v) for k, v in wanted.items() if getattr(current, k) != v
        }
        for name, (_old, new) in changed.items():
            setattr(current, name, new)
        if changed:
            current.save(update_fields=list(changed))
        for name, (old, new) in changed.items():
            details = {"field": name, "old": old, "new": new}
            audit.record(
                codes.SETTING_CHANGED, actor=actor, request=request, obj=current, details=details
            )
    organization.refresh_from_db()
    return organization


class LocationFields(TypedDict):
    """A location as an administrator types it."""

    name: str
    pos_code: str
    state: str
    county: str


def _pos(value: str) -> str:
    code = (value or "").strip()
    validate_pos(code)
    return code


def _county(value: str) -> str:
    county = (value or "").strip()
    if len(county) > MAX_COUNTY:
        raise ValidationError(f"The county is too long (at most {MAX_COUNTY} characters).")
    return county


def _location_values(fields: LocationFields) -> dict[str, str]:
    return _checked(
        {
            "name": (fields["name"], lambda v: _name(v, "location")),
            "pos_code": (fields["pos_code"], _pos),
            "state": (fields["state"], normalize_state),
            "county": (fields["county"], _county),
        }
    )


def save_location(
    organization: Organization,
    location: Location | None,
    fields: LocationFields,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> Location:
    """A new place of the practice (``location`` is ``None``: ``location.create`` with its
    values) or a change of one of its places (``location.update`` with the old and new value of
    each field that changed; nothing when none did)."""
    values = _location_values(fields)
    with transaction.atomic():
        if location is None:
            current = Location.objects.create(organization=organization, **values)
            code, details = codes.LOCATION_CREATE, {"new": values}
        else:
            current = Location.objects.select_for_update().get(
                pk=location.pk, organization=organization
            )
            old = {k: getattr(current, k) for k, v in values.items() if getattr(current, k) != v}
            if not old:
                return current
            for name in old:
                setattr(current, name, values[name])
            current.save(update_fields=list(old))
            code, details = codes.LOCATION_UPDATE, {"old": old, "new": {k: values[k] for k in old}}
        audit.record(code, actor=actor, request=request, obj=current, details=details)
    return current
