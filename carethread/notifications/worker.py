"""What ``carethread worker`` runs: django-tasks-db's database worker, in rounds, with the
notification sweep between rounds.

A round: the audit trail's daily checkpoint when one is due (``audit.checkpoints.daily``, logged,
never in the counts), the periodic steps apps register (``register_periodic``: e.g. messaging's
hourly purge of stale uploads; logged, never in the counts), sweep (``delivery.sweep``: expired
leases, pending rows without a waiting task, abandoned task results), then run the tasks that
are due on the backend's queues, up to a batch. Stopping (``Runner.stop``, from SIGTERM/SIGINT)
lets the task in hand finish, then the loop ends.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypedDict, Unpack

from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from carethread.audit import checkpoints as audit_checkpoints
from carethread.notifications import delivery, tasks

DELIVERY_TASKS = (tasks.deliver_notification.module_path, tasks.deliver_subject.module_path)
log = logging.getLogger(__name__)

#: A periodic step: does its work, returns how many things it handled (logged when not zero).
Step = Callable[[], int]
_PERIODIC: dict[str, tuple[dt.timedelta, Step]] = {}


def register_periodic(name: str, every: dt.timedelta, step: Step) -> None:
    """Run ``step`` from the worker's rounds at most once per ``every`` (per worker process; the
    first round runs it). Apps register theirs in ``AppConfig.ready``."""
    _PERIODIC[name] = (every, step)


def periodic_steps() -> dict[str, tuple[dt.timedelta, Step]]:
    return dict(_PERIODIC)


class WorkerOptions(TypedDict):
    """The options of django-tasks-db's ``Worker``."""

    queue_names: list[str]
    excluded_queue_names: list[str]
    interval: float
    batch: bool
    backend_name: str
    startup_delay: bool
    max_tasks: int | None
    worker_id: str


class TaskRunner(Worker):
    """The database worker of django-tasks-db, counting what the tasks it runs ended in."""

    def __init__(self, counts: Counter[str], **options: Unpack[WorkerOptions]) -> None:
        super().__init__(**options)
        self.counts = counts
        self.tasks_run = 0

    def run_task(self, db_task_result: DBTaskResult) -> None:
        super().run_task(db_task_result)
        self.tasks_run += 1
        if db_task_result.status != TaskResultStatus.SUCCESSFUL:
            outcome = "task_failed"
        elif db_task_result.task_path in DELIVERY_TASKS:
            value = db_task_result.return_value
            for outcome in value if isinstance(value, list) else [value]:
                self.counts[str(outcome)] += 1
            return
        else:
            outcome = "task_done"
        self.counts[outcome] += 1


class Runner:
    """Rounds of sweep + due tasks; ``stop()`` may be called from a signal handler."""

    def __init__(self, *, batch: int | None) -> None:
        self.batch = batch
        self.worker_id = get_random_string(32)
        self.stopping = threading.Event()
        self._current: TaskRunner | None = None
        self._next_run: dict[str, float] = {}  # periodic step -> time.monotonic() it is due

    def stop(self) -> None:
        self.stopping.set()
        current = self._current
        if current is not None:
            current.running = False

    def round(self) -> tuple[Counter[str], int]:
        """Sweep, then run due tasks (at most ``batch``; all of them when it is ``None``).
        Returns the counts of what happened and how many tasks ran."""
        audit_checkpoints.daily()
        self._periodic()
        counts: Counter[str] = Counter(delivery.sweep())
        if self.stopping.is_set():
            return counts, 0
        runner = TaskRunner(
            counts,
            queue_names=["*"],
            excluded_queue_names=[],
            interval=0,
            batch=True,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=self.batch,
            worker_id=self.worker_id,
        )
        self._current = runner
        if self.stopping.is_set():
            runner.running = False
        try:
            runner.run()
        finally:
            self._current = None
        return counts, runner.tasks_run

    def _periodic(self) -> None:
        """The registered steps that are due (a database error propagates: the round is retried)."""
        for name, (every, step) in periodic_steps().items():
            now = time.monotonic()
            if name in self._next_run and now < self._next_run[name]:
                continue
            handled = step()
            self._next_run[name] = now + every.total_seconds()
            if handled:
                log.info("%s: %d", name, handled)
