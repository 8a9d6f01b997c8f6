"""Progress of the long CLI commands (``import``, ``synth``, ``measure``, ``audit verify``,
``keys rotate``), on stderr: one rich display when stderr is a terminal, nothing otherwise.

The code doing the work takes a ``Progress`` and never knows how it is shown::

    with progress.shown() as shown:
        advance = shown.task("verifying", total)   # total None: unknown
        advance(500)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

Advance = Callable[[int], None]


class Progress(Protocol):
    #: False when nothing is shown (callers may skip work done only for the display).
    enabled: bool

    def task(self, label: str, total: int | None) -> Advance:
        """Start a step of ``total`` items (None: unknown); returns the function to advance it."""
        ...


class NoProgress:
    enabled = False

    def task(self, label: str, total: int | None) -> Advance:
        return _ignore


def _ignore(_n: int) -> None:
    return None


class _Shown:
    enabled = True

    def __init__(self, bar: RichProgress, *, keep: bool) -> None:
        self._bar = bar
        self._keep = keep
        self._current: TaskID | None = None

    def task(self, label: str, total: int | None) -> Advance:
        if not self._keep and self._current is not None:
            self._bar.remove_task(self._current)
        task_id = self._current = self._bar.add_task(label, total=total)

        def advance(n: int) -> None:
            self._bar.advance(task_id, n)

        return advance


@contextmanager
def shown(stream: TextIO | None = None, *, keep: bool = False) -> Iterator[Progress]:
    """The display for a command on ``stream`` (default: stderr): a rich bar per step when it is
    a terminal (``keep``: every step stays on screen, else one line that each step replaces and
    that goes at the end), else nothing."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield NoProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(file=stream), transient=not keep) as bar:
        yield _Shown(bar, keep=keep)
