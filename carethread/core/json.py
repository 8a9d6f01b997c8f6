"""The shape of a JSON value, for data read from or written as JSON (FHIR resources, the
readings a message carries, the API's answers): one alias instead of ``Any``."""

from __future__ import annotations

from typing import TypeAlias

JsonValue: TypeAlias = "str | int | float | bool | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = dict[str, JsonValue]
