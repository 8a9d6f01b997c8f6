"""``carethread flush``: Django's flush, which also empties the append-only audit trail.

On SQLite Django empties tables with DELETE, which the audit triggers refuse; this command
lifts them for the duration of the flush and puts them back afterwards. (PostgreSQL flushes with
TRUNCATE, which row triggers do not see.) Django's TransactionTestCase calls this command
between tests.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections

from carethread.audit import triggers


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        triggers.remove(connection)
        try:
            return super().handle(**options)
        finally:
            if {"audit_auditevent", "audit_auditchainhead"} <= set(
                connection.introspection.table_names()
            ):
                triggers.install(connection)
