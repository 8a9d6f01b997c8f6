import os
import subprocess
import sys

import pytest

from carethread.cli import main


def _run(*args, env_extra=None, tmp_path=None):
    env = {**os.environ, "CARETHREAD_VAR_DIR": str(tmp_path), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "carethread", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_configuration_exits_2_naming_the_variable(tmp_path):
    result = _run("check", env_extra={"CARETHREAD_TIME_ZONE": "Nowhere/Town"}, tmp_path=tmp_path)
    assert result.returncode == 2
    assert "CARETHREAD_TIME_ZONE" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_exits_1(capsys):
    assert main(["no-such-command"]) == 1


def test_bad_arguments_exit_2(capsys):
    assert main(["serve", "--workers", "many"]) == 2
    assert main(["serve", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


@pytest.mark.django_db
def test_check_passes(capsys):
    assert main(["check"]) == 0


@pytest.mark.django_db
def test_check_of_the_database_is_clean_on_every_backend(capsys):
    """SQLite ignores an index's non-key columns (models.W040): nothing a user can act on, so the
    first screen of `make demo` (migrate) and `check --database` stays clean."""
    assert main(["check", "--database", "default"]) == 0
    output = capsys.readouterr()
    assert "W040" not in output.out + output.err
    assert "no issues" in output.out
