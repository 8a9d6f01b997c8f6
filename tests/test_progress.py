"""The one progress display of the CLI commands: nothing unless stderr is a terminal."""

from __future__ import annotations

import io

from carethread import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_shown_off_a_terminal(capsys):
    with progress.shown() as shown:
        assert shown.enabled is False
        shown.task("verifying", 10)(5)
    assert capsys.readouterr().err == ""


def test_a_terminal_gets_one_line_per_step(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with progress.shown(keep=True) as shown:
        assert shown.enabled is True
        shown.task("reading", 4)(4)
        shown.task("writing", None)(1)
    assert "reading" in terminal.getvalue() and "writing" in terminal.getvalue()
