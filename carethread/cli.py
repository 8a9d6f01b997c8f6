"""The ``carethread`` console script: Django's management interface with our settings preselected.

Exit codes: 0 success, 2 bad input (a clear message on stderr), 1 any other failure.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carethread.settings")
    from carethread.config import ConfigError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["carethread", *(sys.argv[1:] if argv is None else argv)])
    except ConfigError as exc:
        print(f"carethread: configuration error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
