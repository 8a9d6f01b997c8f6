"""What text the service accepts from outside: one rule for every API field, form field, query
parameter and command-line value.

Text may hold any character a person can type or paste, and tab, line feed and carriage return.
It may not hold NUL (PostgreSQL cannot store it), the other C0 control characters (invisible, and
meaningless in a message), or a lone surrogate (half of a UTF-16 pair: it has no UTF-8 form, so it
can be neither encrypted nor stored). Such text is refused where it enters, naming the field;
nothing downstream has to think about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError

# C0 controls except tab (09), line feed (0a) and carriage return (0d); lone surrogates.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

NUL = "\x00"
NOT_TEXT = "must not contain control characters (other than tab and line breaks)"
NOT_UNICODE = "must not contain lone surrogates (text that is not valid Unicode)"


def text_problem(value: str) -> str | None:
    """Why ``value`` is not acceptable text, or None when it is."""
    found = _NOT_TEXT.search(value)
    if found is None:
        return None
    return NOT_UNICODE if "\ud800" <= found.group() <= "\udfff" else NOT_TEXT


def problem_in(value: object) -> str | None:
    """``text_problem`` for a value and every string inside it (list, tuple, set, dict keys and
    values), or None."""
    if isinstance(value, str):
        return text_problem(value)
    items: Iterable[object]
    if isinstance(value, Mapping):
        items = (part for pair in value.items() for part in pair)
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        return None
    for item in items:
        problem = problem_in(item)
        if problem is not None:
            return problem
    return None


def validate_text(value: object) -> None:
    """The rule as a Django validator (form and model fields)."""
    problem = problem_in(value)
    if problem is not None:
        raise ValidationError(f"The text {problem}.", code="bad_characters")


def has_nul(pairs: Iterable[tuple[str, object]]) -> str | None:
    """The first key among ``(key, value)`` pairs whose key or value holds a NUL, or None."""
    for key, value in pairs:
        if NUL in key or (isinstance(value, str) and NUL in value):
            return key
    return None


def nul_refusal(kind: str, key: str) -> str:
    """The sentence refusing a NUL in the ``kind`` (e.g. "query parameter") named ``key``; the
    name is repeated only when it is short and plain."""
    if re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", key):
        return f"The {kind} {key!r} holds a NUL character."
    return f"A {kind} holds a NUL character."
