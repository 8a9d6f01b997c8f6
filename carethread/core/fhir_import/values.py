"""Reading FHIR R4 datatypes: dates, references, names, contact points, codings.

Messages name the element, not its value, where the value may be patient data (dates, emails).

Every reader takes the raw JSON value and a list to which it appends what is wrong; it returns
the value in the form the models store, or ``None`` when the element is absent or invalid.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from carethread.core.json import JsonObject, JsonValue

Issues = list[str]

# FHIR R4 dateTime / date shapes (year, year-month, date, or date + time with a zone).
_DATETIME_RE = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}"
    r"(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$"
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FRACTION_RE = re.compile(r"\.(\d{6})\d+")
_ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_TYPE_RE = re.compile(r"^[A-Z][A-Za-z]+$")
_PLAIN_REF_RE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")

_zone_cache: dict[str, zoneinfo.ZoneInfo] = {}


def local_zone() -> zoneinfo.ZoneInfo:
    name = settings.TIME_ZONE
    zone = _zone_cache.get(name)
    if zone is None:
        zone = _zone_cache[name] = zoneinfo.ZoneInfo(name)
    return zone


def is_valid_id(value: JsonValue) -> bool:
    return isinstance(value, str) and _ID_RE.match(value) is not None


def date(value: JsonValue, element: str, issues: Issues) -> dt.date | None:
    """A full FHIR ``date`` (YYYY-MM-DD); partial dates are refused: the models store a day."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE_RE.match(value):
        issues.append(f"{element} is not a full date (YYYY-MM-DD)")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        issues.append(f"{element} is not a valid date")
        return None


def datetime(value: JsonValue, element: str, issues: Issues) -> dt.datetime | None:
    """A FHIR ``dateTime`` with at least a day, as a UTC instant; a date alone is its first
    instant (midnight) in settings.TIME_ZONE. For a Period's bounds use ``period_start`` and
    ``period_end``, which also read a year or a month."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DATETIME_RE.match(value):
        issues.append(f"{element} is not a FHIR dateTime (a time needs seconds and a zone)")
        return None
    if len(value) < 10:
        issues.append(f"{element} needs at least a day (YYYY-MM-DD)")
        return None
    return _instant(value, element, issues, end=False)


def period_start(value: JsonValue, element: str, issues: Issues) -> dt.datetime | None:
    """A Period's ``start`` (FHIR ``dateTime``: YYYY, YYYY-MM, YYYY-MM-DD or an instant) as
    the first instant it covers: a year, month or day begins at its first day's midnight in
    settings.TIME_ZONE."""
    return _bound(value, element, issues, end=False)


def period_end(value: JsonValue, element: str, issues: Issues) -> dt.datetime | None:
    """A Period's ``end`` as the *last* instant it covers, because "the end value includes any
    matching date/time" (FHIR R4 Period): a year, month or day ends one microsecond before
    the next one's midnight in settings.TIME_ZONE; an instant is itself. The stored end is
    therefore inclusive: a time ``t`` is inside when ``t <= end``."""
    return _bound(value, element, issues, end=True)


def _bound(value: JsonValue, element: str, issues: Issues, *, end: bool) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _DATETIME_RE.match(value):
        issues.append(f"{element} is not a FHIR dateTime (a time needs seconds and a zone)")
        return None
    return _instant(value, element, issues, end=end)


# What a date-only bound becomes when its local midnight lies beyond what can be stored
# (a "9999-12-31" end, a common "no end" stand-in, west of UTC).
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


def _instant(value: str, element: str, issues: Issues, *, end: bool) -> dt.datetime | None:
    """A matched dateTime as a UTC instant: an instant as written; a year, month or day as
    its first (``end`` false) or last (``end`` true) local instant."""
    try:
        if len(value) > 10:
            return dt.datetime.fromisoformat(_FRACTION_RE.sub(r".\1", value)).astimezone(dt.UTC)
        first, following = _calendar_span(value)
    except OverflowError:
        issues.append(f"{element} is out of range")
        return None
    except ValueError:
        issues.append(f"{element} is not a valid date and time")
        return None
    if not end:
        return _midnight_or_limit(first)
    if following is None:
        return _LATEST
    after = _midnight_or_limit(following)
    return after if after is _LATEST else after - dt.timedelta(microseconds=1)


def _midnight_or_limit(day: dt.date) -> dt.datetime:
    try:
        return local_midnight(day)
    except OverflowError:
        return _EARLIEST if day.year == dt.MINYEAR else _LATEST


def _calendar_span(value: str) -> tuple[dt.date, dt.date | None]:
    """The first day of a FHIR year (YYYY), month (YYYY-MM) or day, and the first day after
    it (``None`` after 9999-12-31)."""
    if len(value) == 4:
        first = dt.date(int(value), 1, 1)
    elif len(value) == 7:
        first = dt.date(int(value[:4]), int(value[5:]), 1)
    else:
        first = dt.date.fromisoformat(value)
    try:
        if len(value) == 4:
            return first, dt.date(first.year + 1, 1, 1)
        if len(value) == 7:
            month = first.month
            return first, dt.date(first.year + month // 12, month % 12 + 1, 1)
        return first, first + dt.timedelta(days=1)
    except (OverflowError, ValueError):
        return first, None


def local_midnight(day: dt.date) -> dt.datetime:
    """The first instant of ``day`` in settings.TIME_ZONE, as a UTC instant."""
    return dt.datetime.combine(day, dt.time(), tzinfo=local_zone()).astimezone(dt.UTC)


def reference(value: JsonValue, element: str, issues: Issues) -> str | None:
    """The target of a Reference as ``Type/id`` (relative or absolute URL) or a ``urn:`` fullUrl."""
    if value is None:
        return None
    ref = value.get("reference") if isinstance(value, dict) else None
    if isinstance(ref, str) and _PLAIN_REF_RE.fullmatch(ref):
        return ref  # the common case, "Type/id"
    if not isinstance(ref, str) or not ref:
        issues.append(f"{element} has no reference (identifier-only references are not read)")
        return None
    if ref.startswith(("urn:uuid:", "urn:oid:")):
        return ref
    if ref.startswith("#"):
        issues.append(f"{element} {ref!r}: contained resources are not read")
        return None
    parts = ref.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2 or not _TYPE_RE.match(parts[-2]) or not is_valid_id(parts[-1]):
        issues.append(f"{element} {ref!r} is not a reference of the form Type/id")
        return None
    return f"{parts[-2]}/{parts[-1]}"


def required_reference(resource: JsonObject, element: str, issues: Issues) -> str | None:
    """``reference`` of ``resource[element]``, which must be there."""
    ref = reference(resource.get(element), element, issues)
    if element not in resource:
        issues.append(f"{element} is missing")
    return ref


def reference_type(ref: str) -> str:
    return ref.split("/", 1)[0] if not ref.startswith("urn:") else ""


def human_name(value: JsonValue, element: str, issues: Issues) -> tuple[str, str, str] | None:
    """(family, given, prefix) of the official name, else the first; ``None`` if absent."""
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(n, dict) for n in value):
        issues.append(f"{element} must be a list of HumanName")
        return None
    chosen = next((n for n in value if n.get("use") == "official"), value[0])
    family = chosen.get("family") or ""
    given = " ".join(g for g in chosen.get("given") or () if isinstance(g, str))
    prefix = " ".join(p for p in chosen.get("prefix") or () if isinstance(p, str))
    if not isinstance(family, str):
        issues.append(f"{element}.family must be a string")
        return None
    return family, given, prefix


def person_name(value: JsonValue, issues: Issues) -> tuple[str, str, str]:
    """(family, given, prefix) of a person's ``name``: the family name is required, family and
    given names are at most 100 characters (the prefix is the caller's to check)."""
    name = human_name(value, "name", issues)
    if name is None or not name[0]:
        issues.append("name.family is missing")
    family, given, prefix = name or ("", "", "")
    text(family, "name.family", issues, 100)
    text(given, "name.given", issues, 100)
    return family, given, prefix


def email(value: JsonValue, element: str, issues: Issues) -> str:
    """The first ``telecom`` entry with system ``email``, checked; "" if none."""
    if value is None:
        return ""
    if not isinstance(value, list):
        issues.append(f"{element} must be a list of ContactPoint")
        return ""
    for point in value:
        if isinstance(point, dict) and point.get("system") == "email":
            address = point.get("value")
            try:
                validate_email(address)
            except ValidationError:
                issues.append(f"{element} email is not a valid address")
                return ""
            return str(address)
    return ""


def coding_code(value: JsonValue, system: str) -> str | None:
    """The code of the first coding with ``system`` in a CodeableConcept (or list, or Coding)."""
    concepts = value if isinstance(value, list) else [value]
    for concept in concepts:
        if not isinstance(concept, dict):
            continue
        codings = concept.get("coding", [concept])
        for coding in codings if isinstance(codings, list) else ():
            if isinstance(coding, dict) and coding.get("system") == system:
                code = coding.get("code")
                return code if isinstance(code, str) else None
    return None


def first_code(value: JsonValue) -> str | None:
    """The code of the first coding of a CodeableConcept (any system)."""
    concepts = value if isinstance(value, list) else [value]
    for concept in concepts:
        if isinstance(concept, dict):
            for coding in concept.get("coding") or ():
                if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                    return str(coding["code"])
    return None


def identifier(value: JsonValue, system: str) -> str | None:
    """The value of the first identifier with ``system``."""
    if not isinstance(value, list):
        return None
    for ident in value:
        if isinstance(ident, dict) and ident.get("system") == system:
            found = ident.get("value")
            return found if isinstance(found, str) else None
    return None


def boolean(value: JsonValue, element: str, issues: Issues, default: bool = True) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        issues.append(f"{element} must be true or false")
        return default
    return value


def text(
    value: JsonValue, element: str, issues: Issues, max_length: int, required: bool = False
) -> str:
    if value is None or value == "":
        if required:
            issues.append(f"{element} is missing")
        return ""
    if not isinstance(value, str):
        issues.append(f"{element} must be a string")
        return ""
    if len(value) > max_length:
        issues.append(f"{element} is longer than {max_length} characters")
        return ""
    return value
