"""Shared fixtures. Every test runs on the database named by DATABASE_URL (SQLite by default)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_var_dir(tmp_path, settings):
    """Files the service writes at run time go to a per-test folder."""
    settings.CARETHREAD_VAR_DIR = tmp_path
    return tmp_path
