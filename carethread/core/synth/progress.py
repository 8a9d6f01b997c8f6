"""Progress reporting for the generator (``carethread.progress``), and a cheap ticker."""

from __future__ import annotations

from carethread.progress import Advance, NoProgress, Progress

__all__ = ["Advance", "NoProgress", "Progress", "Ticker"]


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
