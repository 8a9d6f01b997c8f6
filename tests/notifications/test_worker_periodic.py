"""The worker's periodic steps: apps register them (``worker.register_periodic``) and each runs
from the worker's rounds at most once per its interval; stale uploads are purged hourly."""

from __future__ import annotations

import datetime as dt

import pytest

from carethread.notifications import worker
from carethread.notifications.worker import Runner


def test_messaging_registers_the_hourly_upload_purge():
    every, _step = worker.periodic_steps()["messaging.stale_uploads"]
    assert every == dt.timedelta(hours=1)


# The worker closes "old" connections between tasks (as a request would), so this test commits.
@pytest.mark.django_db(transaction=True)
def test_a_periodic_step_runs_once_per_interval(monkeypatch):
    calls: list[int] = []
    clock = [1000.0]
    monkeypatch.setattr(worker, "_PERIODIC", {})
    monkeypatch.setattr(worker.time, "monotonic", lambda: clock[0])
    worker.register_periodic("test.step", dt.timedelta(minutes=10), lambda: calls.append(1) or 0)
    runner = Runner(batch=None)
    runner.round()
    runner.round()
    assert len(calls) == 1
    clock[0] += 599
    runner.round()
    assert len(calls) == 1
    clock[0] += 2
    runner.round()
    assert len(calls) == 2
