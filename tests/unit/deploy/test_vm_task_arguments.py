"""The VM tasks take `--env NAME` as a flag, so `inv TASK --help` shows their help and a
missing environment is one line naming the flag (exit 2), before anything connects."""

import pytest

from tests.integration.support import run_inv

VM_TASKS = ["deploy", "rollback", "status", "releases", "audit", "lock.status", "lock.release"]


@pytest.mark.parametrize("task", VM_TASKS)
def test_help_after_the_task_shows_its_help(task):
    result = run_inv(task, "--help")
    assert result.returncode == 0, result.stderr
    assert f"{task} [--options]" in result.stdout
    assert "--env" in result.stdout


@pytest.mark.parametrize("task", VM_TASKS)
def test_without_env_the_task_asks_for_the_flag(task):
    result = run_inv(task)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: no environment given (pass --env NAME (known: local, production, sandbox, staging))"
    ]
