"""``carethread measure``: the Secure Messaging measure report (docs/measures.md).

Writes the reference JSON, CSV (entity rows, or patient rows with ``--patients``) or QPP
submission JSON to stdout or ``--output`` (replaced atomically: a failed run leaves no partial
file). Bad input exits 2 with a message and computes nothing; the report is recorded in the
audit trail (``measure.report``, counts only).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carethread import progress
from carethread.audit import codes
from carethread.audit.actions import operator, record
from carethread.audit.models import AuditEvent
from carethread.measures import engine, exports
from carethread.measures.programs import PROGRAMS, Level
from carethread.measures.request import (
    MeasureInputError,
    MeasureRequest,
    RequestInput,
    parse,
)


class Command(BaseCommand):
    help = (
        "Compute the Secure Messaging measure for a program and period, and write it as JSON "
        "(the reference), CSV or QPP submission JSON. Bad input exits 2."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--program", required=True, metavar="ID", help=f"one of: {', '.join(PROGRAMS)}"
        )
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD (inclusive)")
        parser.add_argument("--end", required=True, help="last day, YYYY-MM-DD (inclusive)")
        parser.add_argument(
            "--level",
            metavar="{" + ",".join(level.value for level in Level) + "}",
            help="who a row is for (default: the program's level)",
        )
        parser.add_argument("--tin", help="only the rows of this organisation (TIN)")
        parser.add_argument("--npi", help="only the rows of this clinician (NPI)")
        parser.add_argument(
            "--policy",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="actors=clinician|delegate|practice, halo=true|false, "
            "exclude_pos=21,23|none, window=period|calendar-year (repeatable)",
        )
        parser.add_argument(
            "--low-broadband-counties",
            type=Path,
            metavar="CSV",
            help="a state,county CSV of counties lacking broadband (the broadband exclusion)",
        )
        parser.add_argument(
            "--patients", action="store_true", help="list every denominator patient and why"
        )
        parser.add_argument(
            "--format",
            default="json",
            metavar="{" + ",".join(exports.FORMATS) + "}",
            help="json (default), csv, or qpp (MIPS programs only)",
        )
        parser.add_argument(
            "--cehrt-id", metavar="ID", help="the CMS EHR Certification ID for --format qpp"
        )
        parser.add_argument(
            "--output", type=Path, metavar="FILE", help="write to FILE instead of stdout"
        )

    def handle(self, *args: object, **options: Any) -> None:
        output: Path | None = options["output"]
        try:
            request = parse(
                RequestInput(
                    program=options["program"],
                    start=options["start"],
                    end=options["end"],
                    level=options["level"],
                    tin=options["tin"],
                    npi=options["npi"],
                    policies=options["policy"],
                    low_broadband_csv=read_counties(options["low_broadband_counties"]),
                    patients=options["patients"],
                )
            )
            chosen = exports.check_options(request, options["format"], options["cehrt_id"])
        except MeasureInputError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if output is not None:
            check_writable(output)

        with progress.shown(sys.stderr) as shown:
            doc = engine.compute(request, on_step=_phases(shown))
        try:
            rendered = exports.render(doc, chosen)
        except MeasureInputError as exc:
            raise CommandError(str(exc), returncode=2) from None
        for warning in doc["warnings"]:
            self.stderr.write(f"warning: {warning}", style_func=self.style.WARNING)

        try:
            if output is None:
                self.stdout.write(rendered.text, ending="")
            else:
                write_atomically(output, rendered.text)
        except OSError as exc:
            self._record(request, chosen, rendered, outcome=AuditEvent.Outcome.FAILURE)
            raise CommandError(f"cannot write {output}: {exc.strerror}", returncode=2) from None
        self._record(request, chosen, rendered)
        if output is not None:
            self.stderr.write(f"{rendered.rows} row(s) written to {output}", style_func=str)

    def _record(
        self,
        request: MeasureRequest,
        chosen: exports.OutputOptions,
        rendered: exports.Rendered,
        *,
        outcome: str = AuditEvent.Outcome.SUCCESS,
    ) -> None:
        record(
            codes.MEASURE_REPORT,
            outcome=outcome,
            details=exports.audit_details(request, chosen, rendered.rows, rendered.patients),
            **operator(),
        )


def read_counties(path: Path | None) -> str | None:
    """The text of the low-broadband county list; an unreadable file is bad input."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MeasureInputError(
            f"cannot read the low-broadband county list {path}: {exc.strerror}"
        ) from None
    except UnicodeDecodeError:
        raise MeasureInputError(f"the low-broadband county list {path} is not UTF-8 text") from None


def check_writable(output: Path) -> None:
    """Refuse, before computing, an output path that cannot be written."""
    if output.is_dir():
        raise CommandError(f"cannot write {output}: it is a directory", returncode=2)
    folder = output.parent
    if not folder.is_dir():
        raise CommandError(f"cannot write {output}: no folder {folder}", returncode=2)
    if not os.access(folder, os.W_OK):
        raise CommandError(f"cannot write {output}: the folder is not writable", returncode=2)


def write_atomically(output: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``output``, then rename it into place."""
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, output)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def _phases(shown: progress.Progress) -> Callable[[str], None] | None:
    """The engine's phases, one line each (the total is unknown), on a terminal only."""
    if not shown.enabled:
        return None

    def step(label: str) -> None:
        shown.task(f"measure: {label}", None)

    return step
