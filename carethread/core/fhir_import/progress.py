"""A rich progress bar on a terminal; nothing otherwise."""

from __future__ import annotations

import sys
from typing import Any


class Quiet:
    def start_reading(self, total_bytes: int) -> None:
        pass

    def read(self, size: int) -> None:
        pass

    def start_writing(self, total: int) -> None:
        pass

    def wrote(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


class Bar(Quiet):
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self._progress.start()
        self._task: Any = None

    def start_reading(self, total_bytes: int) -> None:
        self._task = self._progress.add_task("reading (bytes)", total=total_bytes)

    def read(self, size: int) -> None:
        self._progress.advance(self._task, size)

    def start_writing(self, total: int) -> None:
        self._task = self._progress.add_task("writing (resources)", total=total)

    def wrote(self, count: int) -> None:
        self._progress.advance(self._task, count)

    def close(self) -> None:
        self._progress.stop()
