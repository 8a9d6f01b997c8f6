"""Finding the input files and streaming the resources out of them.

``.ndjson`` (and ``.jsonl``) files are read line by line; other files are one JSON document
(a Bundle or a single resource). Bundles are expanded into their entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from carethread.core.json import JsonObject, JsonValue

BUNDLE_TYPES = ("collection", "transaction", "batch")
NDJSON_SUFFIXES = (".ndjson", ".jsonl")


@dataclass(slots=True)
class Item:
    """A resource read from the input, or the reason it could not be read."""

    where: tuple[int, int, int]
    resource: JsonObject | None
    full_url: str | None = None
    error: str | None = None


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to read, in order, and the paths that could not be used."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix in (".json", *NDJSON_SUFFIXES)
            )
            if not found:
                problems.append((str(path), "no .json or .ndjson files in this directory"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append((str(path), "no such file or directory"))
    return files, problems


def read_file(path: Path, index: int, advance: Callable[[int], None]) -> Iterator[Item]:
    if path.suffix in NDJSON_SUFFIXES:
        yield from _read_ndjson(path, index, advance)
        return
    raw = path.read_bytes()
    advance(len(raw))
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        yield Item((index, 0, 0), None, error=f"malformed JSON: {exc}")
        return
    yield from expand(document, (index, 0))


def _read_ndjson(path: Path, index: int, advance: Callable[[int], None]) -> Iterator[Item]:
    pending = 0
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            pending += len(line)
            if pending > 1 << 20:
                advance(pending)
                pending = 0
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield Item((index, number, 0), None, error=f"malformed JSON: {exc}")
                continue
            yield from expand(document, (index, number))
    advance(pending)


def expand(document: JsonValue, at: tuple[int, int]) -> Iterator[Item]:
    where = (at[0], at[1], 0)
    if not isinstance(document, dict):
        yield Item(where, None, error="not a FHIR resource (a JSON object is expected)")
        return
    if document.get("resourceType") != "Bundle":
        yield Item(where, document)
        return
    kind = document.get("type")
    if kind not in BUNDLE_TYPES:
        yield Item(
            where,
            None,
            error=f"Bundle type {kind!r} is not read (collection, transaction or batch)",
        )
        return
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        yield Item(where, None, error="Bundle.entry must be a list")
        return
    for number, entry in enumerate(entries, start=1):
        spot = (at[0], at[1], number)
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            yield Item(spot, None, error="entry has no resource (DELETE entries are not read)")
            continue
        if resource.get("resourceType") == "Bundle":
            yield Item(spot, None, error="a Bundle inside a Bundle is not read")
            continue
        full_url = entry.get("fullUrl")
        yield Item(spot, resource, full_url if isinstance(full_url, str) else None)


def describe(files: list[str], where: tuple[int, int, int]) -> str:
    """``file``, ``file:line`` and/or ``entry[i]`` for an error message."""
    index, line, entry = where
    text = files[index] if files else "<memory>"
    if line:
        text += f":{line}"
    if entry:
        text += f" entry[{entry - 1}]"
    return text
