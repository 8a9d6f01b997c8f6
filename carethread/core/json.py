"""The shape of a JSON value, for data read from or written as JSON (FHIR resources, the
readings a message carries, the API's answers, audit details): one alias instead of ``Any``.

Lists and objects are read-only ``Sequence`` and ``Mapping`` here, so a ``dict[str, int]`` or a
``list[str]`` is a JSON value too; ``isinstance(value, dict)`` / ``list`` narrows as usual."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

JsonValue: TypeAlias = (
    "str | int | float | bool | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
)
JsonObject: TypeAlias = dict[str, JsonValue]
