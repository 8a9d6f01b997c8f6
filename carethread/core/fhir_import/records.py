"""What the importer keeps per resource, what it reports, and what it returns."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar


@dataclass(slots=True, kw_only=True)
class Record:
    """A compact, validated resource. Subclasses add the mapped elements (compared for equality).

    ``key`` is "ResourceType/id" (stored as the rows' ``source_key``); ``where`` is
    (file index, line, entry index) with 0 meaning "not applicable"; ``pk`` is set when written.
    """

    key: str = field(compare=False, default="")
    where: tuple[int, int, int] = field(compare=False, default=(0, 0, 0))
    pk: int | None = field(compare=False, default=None)


R = TypeVar("R", bound=Record)


def repeated(
    records: Iterable[R], key: Callable[[R], Hashable], problem: str
) -> list[tuple[R, str]]:
    """The records whose ``key`` an earlier record already has, each with its problem: the
    earlier record's key followed by ``problem``."""
    seen: dict[Hashable, R] = {}
    problems = []
    for record in records:
        other = seen.setdefault(key(record), record)
        if other is not record:
            problems.append((record, f"{other.key} {problem}"))
    return problems


@dataclass(frozen=True)
class ImportIssue:
    """One thing wrong with the input: where, which resource, what."""

    where: str
    resource: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.resource + ': ' if self.resource else ''}{self.message}"


class ImportFailed(Exception):
    """The input was refused; nothing was written. ``errors`` lists every problem found."""

    def __init__(self, errors: list[ImportIssue]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s) in the input; nothing imported")


@dataclass
class TypeCounts:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportSummary:
    files: int = 0
    resources: int = 0
    counts: dict[str, TypeCounts] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[ImportIssue] = field(default_factory=list)

    def for_audit(self) -> dict[str, object]:
        """Codes and counts only."""
        return {
            "files": self.files,
            "resources": self.resources,
            "created": {t: c.created for t, c in sorted(self.counts.items())},
            "updated": {t: c.updated for t, c in sorted(self.counts.items())},
            "skipped": dict(sorted(self.skipped.items())),
        }

    def line(self) -> str:
        parts = [
            f"{t} {c.created} new, {c.updated} updated, {c.unchanged} unchanged"
            for t, c in self.counts.items()
            if c.read
        ]
        skipped = sum(self.skipped.values())
        tail = f"; skipped {skipped} of types not read" if skipped else ""
        return (
            f"Imported {self.resources} resources from {self.files} file(s): "
            + ("; ".join(parts) or "nothing")
            + tail
        )
