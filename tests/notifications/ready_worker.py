"""``carethread worker``, started ahead of time: the process imports Carethread and sets Django
up, then waits for a line on its standard input before it runs the worker command (the same
entry point as ``python -m carethread worker``). The many-kills test starts the next worker this
way while the current one is still alive, so that a kill is not followed by a second of imports;
the waiting process touches neither the database nor the SMTP server."""

from __future__ import annotations

import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "worker_settings")
    import django

    django.setup()
    from carethread import cli
    from carethread.notifications.management.commands import worker  # noqa: F401

    sys.stdin.readline()
    return cli.main(["worker", *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main())
