"""A backup never hangs: a store frozen mid-upload (`docker pause` of the stack's object
store), SIGTERM and SIGINT each end the run with exit 1 and one line, the multipart upload
aborted and the lock released; the next run succeeds."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.config import PROJECT_ROOT
from tests.integration.backup.conftest import BACKUP_BUCKET, BackupStack, wait_for_stderr

IO_TIMEOUT, IO_RETRIES = 5, 1
FAST_IO = {
    "INVOKE_SHIPYARD_BACKUP_IO_TIMEOUT": str(IO_TIMEOUT),
    "INVOKE_SHIPYARD_BACKUP_IO_RETRIES": str(IO_RETRIES),
}
FROZEN_BOUND = 60.0
"""Seconds from `docker pause` to the end of the run. The library's own bound with these
settings is (retries + 2) x timeout + backoff = 15.5 s (IoPolicy.run_bound); the rest is
slack for a loaded machine, far below the default policy's 241.5 s."""
SIGNAL_BOUND = 30.0


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _lock(stack: BackupStack) -> Path:
    return PROJECT_ROOT / ".shipyard" / f"backup-{stack.isolated.project}.lock"


def _freeze(container: str) -> Callable[[], None]:
    """Freeze the container's processes; returns what thaws them. `docker pause` (the cgroup
    freezer) first; where the freezer fails (runc's "unable to freeze" on a busy host), every
    process of the container is stopped with SIGSTOP from the host instead: either way the
    store accepts connections in the kernel and never answers."""
    paused = subprocess.run(["docker", "pause", container], capture_output=True, check=False)
    if paused.returncode == 0:
        return lambda: subprocess.run(["docker", "unpause", container], check=False, timeout=60)
    top = subprocess.run(
        ["docker", "top", container, "-eo", "pid"], capture_output=True, text=True, check=True
    )
    pids = [int(line) for line in top.stdout.split()[1:] if line.isdigit()]
    assert pids, f"no process in {container}: {paused.stderr!r}"
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)

    def thaw() -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    return thaw


def _objectstore(stack: BackupStack) -> str:
    return stack.compose("ps", "--quiet", "objectstore").strip()


def _open_uploads(stack: BackupStack) -> list[str]:
    """Multipart uploads left open in the remote backup store."""
    result = stack.backup_store()._list_multipart_uploads(BACKUP_BUCKET, prefix="it/")
    return [upload.object_name for upload in result.uploads]


def test_a_store_frozen_mid_upload_ends_the_backup_with_exit_1(
    backup_stack: BackupStack, bulk_table, in_stack: Path
):
    container = _objectstore(backup_stack)
    process = backup_stack.popen_inv("backup", env_file=in_stack, config=FAST_IO)
    try:
        wait_for_stderr(process, "pg_dump of", 180)
        time.sleep(1.0)
        assert process.poll() is None, "the backup finished before the store was frozen"
        thaw = _freeze(container)
        frozen_at = time.monotonic()
        try:
            _, stderr = process.communicate(timeout=FROZEN_BOUND + 120)
        finally:
            thaw()
        ended_after = time.monotonic() - frozen_at
    finally:
        if process.poll() is None:  # SIGTERM: a clean end that releases the lock
            process.terminate()
            try:
                process.wait(timeout=SIGNAL_BOUND)
            except subprocess.TimeoutExpired:
                process.kill()
    assert process.returncode == 1, stderr
    assert ended_after < FROZEN_BOUND, f"ended {ended_after:.0f} s after the freeze"
    lines = _error_lines(stderr)
    assert len(lines) == 1, stderr
    assert "stopped answering" in lines[0] or "unreachable" in lines[0], lines[0]
    assert "(uploading " in lines[0] or "(downloading " in lines[0] or "(listing " in lines[0]
    assert not _lock(backup_stack).exists()

    again = backup_stack.inv("backup", "--json", env_file=in_stack, config=FAST_IO, timeout=600)
    assert again.returncode == 0, again.stderr
    backup_id = json.loads(again.stdout)["backup"]["id"]
    verified = backup_stack.inv("backup.verify", "--backup", backup_id, env_file=in_stack)
    assert verified.returncode == 0, verified.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_upload_ends_the_backup_cleanly(backup_stack: BackupStack, bulk_table, signum):
    open_before = set(_open_uploads(backup_stack))
    process = backup_stack.popen_inv("backup")
    wait_for_stderr(process, "pg_dump of", 180)
    time.sleep(1.0)
    assert process.poll() is None, "the backup finished before the signal"
    process.send_signal(signum)  # the inv process alone, as cron's or systemd's kill does
    signalled_at = time.monotonic()
    _, stderr = process.communicate(timeout=SIGNAL_BOUND + 60)
    assert time.monotonic() - signalled_at < SIGNAL_BOUND
    assert process.returncode == 1, stderr
    lines = _error_lines(stderr)
    assert len(lines) == 1, stderr
    name = signal.Signals(signum).name
    assert f"backup stopped by {name}" in lines[0], lines[0]
    assert "Traceback" not in stderr
    assert not _lock(backup_stack).exists()
    assert set(_open_uploads(backup_stack)) <= open_before  # this run's upload was aborted
    result = backup_stack.inv("backup")
    assert result.returncode == 0, result.stderr
    assert "stale lock" not in result.stderr
