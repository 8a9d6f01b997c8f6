"""``carethread audit verify`` and ``carethread audit report``.

verify: exit 0 printing "audit trail intact: N entries", exit 1 naming the first broken entry,
exit 2 if the key file or the checkpoint file cannot be read. It checks the checkpoints too,
records an ``audit.verify`` event after the walk (never during it), success or failure, and after
a success writes a checkpoint of the head (``carethread.audit.checkpoints``).
report: CSV of the filtered, sorted trail to stdout or --output; bad options exit 2. The viewing
is itself recorded as ``audit.report``; ``report --emergency`` writes the emergency-access report
instead (messaging's, handed down through ``EXTRA_REPORTS``). The command lives in ``core`` with
the report (``carethread.core.audit_report``), which reads patients beside the trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from carethread import progress
from carethread.audit import checkpoints, codes
from carethread.audit.actions import AuditChainError, operator, record
from carethread.audit.models import AuditChainHead, AuditEvent
from carethread.audit.verify import VerifyResult, verify_chain
from carethread.core.audit_report import (
    EXTRA_REPORTS,
    ReportError,
    ReportFilters,
    parse_filters,
    record_viewing,
    write_csv,
)
from carethread.keyfile import KeyRingError

#: The options of ``report`` that filter and sort it (``parse_filters``).
FILTER_OPTIONS = ("start", "end", "user", "patient", "action", "outcome", "sort")


class _Writer:
    """Hands CSV text to the command's stdout without extra line endings."""

    def __init__(self, command: BaseCommand) -> None:
        self.command = command

    def write(self, text: str) -> None:
        self.command.stdout.write(text, ending="")


def join_sort_values(args: list[str] | None) -> list[str] | None:
    """``--sort -seq`` as ``--sort=-seq``: argparse would take ``-seq`` for an option."""
    if args is None:
        return None
    joined: list[str] = []
    pending = False
    for arg in args:
        if pending and arg.startswith("-"):
            joined[-1] = f"--sort={arg}"
        else:
            joined.append(arg)
        pending = arg == "--sort" and not pending
    return joined


class Command(BaseCommand):
    help = "Check the audit trail's hash chain (verify) or export the audit report (report)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: object) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parse_args = parser.parse_args
        setattr(  # noqa: B010 - wrap the bound method
            parser, "parse_args", lambda args=None, ns=None: parse_args(join_sort_values(args), ns)
        )
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify,report}")
        verify = sub.add_parser("verify", help="check the hash chain; exit 1 if it was altered")
        verify.add_argument(
            "--no-record", action="store_true", help="do not record an audit.verify event"
        )
        verify.add_argument("--chunk-size", type=int, default=5000, help="rows per database fetch")
        report = sub.add_parser("report", help="write the audit report as CSV")
        report.add_argument("--start", help="first day, YYYY-MM-DD (practice time zone)")
        report.add_argument("--end", help="last day, YYYY-MM-DD (inclusive)")
        report.add_argument("--user", help="the actor: user UUID or email address")
        report.add_argument("--patient", help="the patient's MRN")
        report.add_argument("--action", help="an action code, e.g. auth.login")
        report.add_argument("--outcome", help="success or failure")
        report.add_argument(
            "--sort", help="FIELD[,-FIELD]...: any column, '-' for descending (default: seq)"
        )
        report.add_argument("--output", type=Path, help="write to FILE instead of stdout")
        report.add_argument(
            "--emergency",
            action="store_true",
            help="the emergency-access report instead (every use; --start, --end, --user, "
            "--patient filter it)",
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self.verify(chunk_size=options["chunk_size"], audited=not options["no_record"])
            return
        try:
            filters = parse_filters(**{name: options[name] for name in FILTER_OPTIONS})
        except ReportError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if options["emergency"] and (options["action"] or options["outcome"] or options["sort"]):
            raise CommandError(
                "--emergency takes --start, --end, --user, --patient and --output only",
                returncode=2,
            )
        self.report(filters, options["output"], "emergency" if options["emergency"] else "")

    # verify -------------------------------------------------------------------------------

    def verify(self, *, chunk_size: int, audited: bool) -> None:
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1", returncode=2)
        try:
            with progress.shown() as shown:
                advance = shown.task("verifying", self._head_seq()) if shown.enabled else None
                result = verify_chain(chunk_size=chunk_size, progress=advance)
        except (KeyRingError, checkpoints.CheckpointFileError) as exc:
            raise CommandError(str(exc), returncode=2) from None
        event: AuditEvent | None = None
        recorded = ""
        if audited:
            event, recorded = self._record_verify(result)
        if result.problem is not None:
            raise CommandError(
                f"audit trail BROKEN at {result.problem}; "
                f"{result.entries} entries before it are intact{recorded}",
                returncode=1,
            )
        legacy = f" ({result.legacy} unkeyed legacy entries first)" if result.legacy else ""
        self.stdout.write(f"audit trail intact: {result.entries} entries{legacy}")
        if result.entries:
            self.stdout.write(f"head: seq {result.last_seq} hash {result.last_hash}")
        self.stdout.write(f"checkpoints matched: {result.checkpoints}")
        self._checkpoint(result, event)

    def _checkpoint(self, result: VerifyResult, event: AuditEvent | None) -> None:
        """Pin the verified head (or the audit.verify event just appended to it) outside."""
        seq, digest = (event.seq, event.hash) if event else (result.last_seq, result.last_hash)
        try:
            checkpoints.write(seq, digest, "verify")
        except (OSError, KeyRingError) as exc:
            self.stderr.write(f"warning: no checkpoint written to {checkpoints.path()}: {exc}")
            return
        self.stdout.write(f"checkpoint: seq {seq} written to {checkpoints.path()}")

    def _record_verify(self, result: VerifyResult) -> tuple[AuditEvent | None, str]:
        """Record the verification after the walk; returns the event, or a note if that was
        impossible."""
        details: dict[str, Any] = {"entries": result.entries}
        if result.problem is not None:
            details.update(problem=str(result.problem.kind), seq=result.problem.seq)
        try:
            event = record(
                codes.AUDIT_VERIFY,
                outcome=AuditEvent.Outcome.SUCCESS if result.ok else AuditEvent.Outcome.FAILURE,
                details=details,
                **operator(),
            )
        except (AuditChainError, DatabaseError, KeyRingError):
            # A damaged head (or a forged row in the next seq) can make appending impossible.
            return None, " (the audit.verify event could not be recorded)"
        return event, ""

    def _head_seq(self) -> int:
        return AuditChainHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0

    # report -------------------------------------------------------------------------------

    def report(self, filters: ReportFilters, output: Path | None, name: str = "") -> None:
        """Write the audit report, or the ``EXTRA_REPORTS`` one called ``name``."""
        write = EXTRA_REPORTS[name] if name else write_csv
        try:
            if output is None:
                rows = write(filters, _Writer(self))
            else:
                with output.open("w", newline="", encoding="utf-8") as out:
                    rows = write(filters, out)
        except OSError as exc:
            record_viewing(
                filters, 0, outcome=AuditEvent.Outcome.FAILURE, report=name, **operator()
            )
            raise CommandError(f"cannot write {output}: {exc.strerror}", returncode=2) from None
        record_viewing(filters, rows, report=name, **operator())
        if output is not None:
            self.stderr.write(f"{rows} entries written to {output}")
