"""``carethread keys rotate [--batch-size N] [--new-kek]`` and ``carethread keys status``.

rotate: a new current data key; every registered encrypted value re-encrypted under it in short
batches while the service runs; data keys no value uses any more are retired. ``--new-kek`` first
rewraps every data key under the key file's ``current`` key-encryption key (add the new KEK to
the file and make it current, keep the old one until this has run). Exit 2 on bad options or a
key file that does not match the database, 1 if some value failed its integrity check (audited).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from carethread import progress
from carethread.audit.actions import operator
from carethread.crypto import actions
from carethread.crypto.models import DataKey
from carethread.crypto.rotation import rotate
from carethread.keyfile import KeyRingError


class Command(BaseCommand):
    help = "Rotate the data-encryption key (rotate) or list the data keys (status)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{rotate,status}")
        rot = sub.add_parser("rotate", help="new current data key; re-encrypt every value")
        rot.add_argument("--batch-size", type=int, default=500, help="values per transaction")
        rot.add_argument(
            "--new-kek",
            action="store_true",
            help="also rewrap every data key under the key file's current key-encryption key",
        )
        sub.add_parser("status", help="list the data keys and their states")

    def handle(self, *args: object, **options: Any) -> None:
        try:
            if options["subcommand"] == "status":
                self.status()
            else:
                self.rotate(batch_size=options["batch_size"], new_kek=options["new_kek"])
        except KeyRingError as exc:
            raise CommandError(str(exc), returncode=2) from None

    def status(self) -> None:
        for row in DataKey.objects.all():
            when = timezone.localtime(row.created_at)
            retired = (
                f" retired {timezone.localtime(row.retired_at):%Y-%m-%d}" if row.retired_at else ""
            )
            self.stdout.write(
                f"{row.key_id}  {row.state:<8}  kek {row.kek_id}  "
                f"created {when:%Y-%m-%d %H:%M}{retired}"
            )

    def rotate(self, *, batch_size: int, new_kek: bool) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1", returncode=2)
        with progress.shown() as shown:
            report = rotate(batch_size=batch_size, new_kek=new_kek, progress=shown)
        actions.record_rotation(report.counts(), **operator())
        self.stdout.write(
            f"new data key {report.new_key_id}: {report.reencrypted} of {report.values} values "
            f"re-encrypted in {report.passes} pass(es), {report.rewrapped} data key(s) rewrapped, "
            f"{report.retired} retired"
        )
        if report.failures:
            raise CommandError(
                f"{report.failures} value(s) failed their integrity check and were left as they "
                "are (see crypto.integrity_failure in the audit trail)",
                returncode=1,
            )
