"""``carethread setup``: the first organisation and its first administrator login.

Asks for each value it was not given as a flag (``--no-input``: never asks; a missing value is
bad input). The password is never a flag: it comes from ``--password-file`` (its first line),
from ``CARETHREAD_SETUP_PASSWORD``, or is asked twice without echo. On an installation that is
already set up it writes nothing, says what exists and exits 0; on bad input it writes nothing
and exits 2 naming each value that is wrong.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carethread.accounts import setup
from carethread.audit.actions import operator

PASSWORD_ENV = "CARETHREAD_SETUP_PASSWORD"  # noqa: S105  (the variable's name)

# FirstPractice's field -> (its flag, the question asked for it, whether it may be left empty)
VALUES: dict[str, tuple[str, str, bool]] = {
    "tin": ("--tin", "Practice TIN (9 digits)", False),
    "name": ("--name", "Practice name", False),
    "admin_email": ("--admin-email", "Administrator's email address (their login)", False),
    "admin_given_name": ("--admin-given-name", "Administrator's given name", True),
    "admin_family_name": ("--admin-family-name", "Administrator's family name", False),
    "admin_role": ("--admin-role", "Administrator's role (clinician or staff)", False),
    "admin_npi": ("--admin-npi", "Administrator's NPI (10 digits; leave empty for none)", True),
}
PASSWORD_ATTEMPTS = 3


def bad_input(problems: dict[str, str]) -> CommandError:
    """Exit 2, naming each flag whose value is wrong."""
    lines = [
        f"  {VALUES[name][0] if name in VALUES else name}: {text}"
        for name, text in problems.items()
    ]
    return CommandError("nothing was written:\n" + "\n".join(lines), returncode=2)


class Command(BaseCommand):
    help = (
        "Create the first organisation and its first administrator login (who sets up an "
        "authenticator app at their first sign-in). Does nothing on an installation already "
        f"set up. The password comes from --password-file, {PASSWORD_ENV}, or a prompt."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # No abbreviated flags: ``--password VALUE`` must not pass for ``--password-file``.
        return super().create_parser(prog_name, subcommand, allow_abbrev=False, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        for name, (flag, question, _optional) in VALUES.items():
            parser.add_argument(flag, dest=name, metavar="VALUE", help=question)
        parser.add_argument(
            "--time-zone",
            metavar="ZONE",
            help="the practice's time zone; it must be CARETHREAD_TIME_ZONE's (checked only)",
        )
        parser.add_argument(
            "--password-file",
            type=Path,
            metavar="PATH",
            help=f"read the administrator's password from this file's first line (or set "
            f"{PASSWORD_ENV})",
        )
        parser.add_argument(
            "--no-input",
            action="store_true",
            help="ask nothing: every value comes from the flags (and the password file or "
            "variable)",
        )

    def handle(self, *args: object, **options: Any) -> None:
        self._check_time_zone(options["time_zone"])
        existing = setup.installation()
        if existing.is_set_up:
            self._describe(existing)
            return
        interactive = not options["no_input"]
        # Everything given is checked before anything is asked.
        given, problems = self._given(options, interactive)
        password = self._given_password(options["password_file"], problems)
        if password is None and not interactive:
            problems["password"] = f"missing: give --password-file or set {PASSWORD_ENV}"
        elif password is not None and "password" not in problems:
            try:
                setup.clean_password(password, given.get("admin_email", ""))
            except ValidationError as exc:
                problems["password"] = " ".join(exc.messages)
        if problems:
            raise bad_input(problems)
        values = {name: given[name] if name in given else self._ask(name) for name in VALUES}
        if password is None:
            password = self._ask_password(values["admin_email"])
        try:
            done = setup.set_up(setup.FirstPractice(**values, password=password), **operator())
        except setup.SetupRefused as refused:
            raise bad_input(refused.problems) from None
        self._report(done)

    # -- the time zone -------------------------------------------------------------------------

    def _check_time_zone(self, wanted: str | None) -> None:
        current = str(settings.TIME_ZONE)
        if wanted is not None and wanted.strip() != current:
            raise CommandError(
                f"the practice's time zone is the installation's: CARETHREAD_TIME_ZONE is "
                f"{current}. To use {wanted.strip()!r}, set CARETHREAD_TIME_ZONE to it in the "
                "environment of `carethread setup`, `carethread serve` and `carethread worker`, "
                "then run setup again. Nothing was written.",
                returncode=2,
            )
        self.stdout.write(f"Time zone: {current} (CARETHREAD_TIME_ZONE)")

    # -- the values ----------------------------------------------------------------------------

    def _given(
        self, options: dict[str, Any], interactive: bool
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The values given as flags, and what is wrong with them (with ``--no-input``, a
        missing value that may not be empty is wrong too)."""
        given: dict[str, str] = {}
        problems: dict[str, str] = {}
        for name, (_flag, _question, optional) in VALUES.items():
            value = options[name]
            if value is None:
                if not interactive:
                    given[name] = ""
                    if not optional:
                        problems[name] = "missing (--no-input asks nothing)"
                continue
            given[name] = value
            try:
                setup.CHECKS[name](value)
            except ValidationError as exc:
                problems[name] = " ".join(exc.messages)
        return given, problems

    def _given_password(self, path: Path | None, problems: dict[str, str]) -> str | None:
        """The password from the file (its first line) or the variable, else None."""
        if path is None:
            return os.environ.get(PASSWORD_ENV)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            problems["password"] = f"--password-file cannot be read ({reason})"
            return ""
        return lines[0] if lines else ""

    def _ask(self, name: str) -> str:
        """Ask until the answer passes its check."""
        question = VALUES[name][1]
        while True:
            try:
                answer = input(f"{question}: ")
            except EOFError:
                raise bad_input(
                    {name: "no answer (give it as a flag, or use --no-input)"}
                ) from None
            try:
                return setup.CHECKS[name](answer)
            except ValidationError as exc:
                self.stderr.write(" ".join(exc.messages))

    def _ask_password(self, email: str) -> str:
        """Asked twice, without echo, until both agree and it passes the rules (a few tries)."""
        for _attempt in range(PASSWORD_ATTEMPTS):
            try:
                first = getpass.getpass("Administrator's password: ")
                if not self._password_ok(first, email):
                    continue
                if getpass.getpass("The same password again: ") == first:
                    return first
            except EOFError:
                break
            self.stderr.write("The two passwords differ.")
        raise bad_input({"password": "not set (or give --password-file, or " + PASSWORD_ENV + ")"})

    def _password_ok(self, password: str, email: str) -> bool:
        try:
            setup.clean_password(password, email)
        except ValidationError as exc:
            self.stderr.write(" ".join(exc.messages))
            return False
        return True

    # -- what is said --------------------------------------------------------------------------

    def _describe(self, existing: setup.Installation) -> None:
        self.stdout.write("Carethread is already set up; nothing was changed.")
        for name, tin in existing.organizations:
            self.stdout.write(f"Organisation: {name} (TIN {tin})")
        self.stdout.write(f"Administrators with a login: {existing.admins}")
        self.stdout.write(
            "Administrators add people and change settings from the Administration pages "
            "(/practice/) after signing in."
        )

    def _report(self, done: setup.SetUp) -> None:
        org = done.organization
        kind = "Created" if done.new_organization else "Using the imported"
        self.stdout.write(f"{kind} organisation {org.name} (TIN {org.tin}).")
        self.stdout.write(f"Created the administrator's login {done.user.email}.")
        self.stdout.write(
            "Next: start `carethread serve` and `carethread worker`, sign in at "
            f"{settings.CARETHREAD_BASE_URL}/accounts/login/ and set up an authenticator app "
            "(asked at the first sign-in)."
        )
