"""Progress reporting for the generator, independent of how it is shown (rich bar or nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Advance = Callable[[int], None]


class Progress(Protocol):
    def task(self, label: str, total: int | None) -> Advance:
        """Start a step of ``total`` items (None: unknown); returns the function to advance it."""
        ...


class NoProgress:
    def task(self, label: str, total: int | None) -> Advance:
        return _ignore


def _ignore(_n: int) -> None:
    return None


class Ticker:
    """Counts items and reports them in batches, so per-item reporting stays cheap."""

    __slots__ = ("_advance", "_batch", "_pending")

    def __init__(self, advance: Advance, batch: int = 1000) -> None:
        self._advance = advance
        self._batch = batch
        self._pending = 0

    def tick(self) -> None:
        self._pending += 1
        if self._pending >= self._batch:
            self._advance(self._pending)
            self._pending = 0

    def close(self) -> None:
        if self._pending:
            self._advance(self._pending)
            self._pending = 0
