"""The import's two steps (reading bytes, writing resources) on a ``carethread.progress``
display: a bar on a terminal, nothing otherwise."""

from __future__ import annotations

from carethread.progress import Advance, NoProgress, Progress


def _ignore(_n: int) -> None:
    return None


class Steps:
    def __init__(self, display: Progress | None = None) -> None:
        self._display = display or NoProgress()
        self.read: Advance = _ignore
        self.wrote: Advance = _ignore

    def start_reading(self, total_bytes: int) -> None:
        self.read = self._display.task("reading (bytes)", total_bytes)

    def start_writing(self, total: int) -> None:
        self.wrote = self._display.task("writing (resources)", total)
