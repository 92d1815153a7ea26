"""Point-in-time recovery on a real local stack: PostgreSQL archives its WAL with pgBackRest
into the stack's own SeaweedFS object store (through the db image's TLS relay), encrypted
with the backup key; a base backup, rows written after it, then `inv restore --to-time`
to the end of the WAL and to a moment in the middle, and a refusal outside the window."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shipyard.envfile.init import new_env_text
from tests.integration import support
from tests.integration.support import IsolatedLocal, free_port, run_inv

pytestmark = pytest.mark.integration
ROWS_BEFORE = 3
ROWS_AFTER = 3


@dataclass
class PitrStack:
    """The module's stack and how to reach its database."""

    isolated: IsolatedLocal
    env_file: Path

    def inv(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """`inv ARGS` against this stack."""
        return run_inv(*args, env=self.isolated.overrides(), timeout=timeout)

    def ok(self, *args: str) -> dict:
        """`inv ARGS --json`, which must succeed; its JSON document."""
        result = self.inv(*args, "--json")
        assert result.returncode == 0, f"inv {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)

    def sql(self, sql: str) -> str:
        """One statement in the app's database, inside the db container."""
        container = f"{self.isolated.project}-db-1"
        result = subprocess.run(
            ["docker", "exec", container, "psql", "-U", "docstore", "-d", "docstore", "-Atc", sql],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


@pytest.fixture(scope="module")
def pitr_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PitrStack]:
    """A stack whose backups go to its in-stack store, encrypted; removed afterwards with
    every volume the restores made."""
    tmp = tmp_path_factory.mktemp("pitr")
    env_file = tmp / ".env"
    (tmp / "backup.key").write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    isolated = IsolatedLocal(
        project=support.test_project("docstore-pitr-it"), env_file=env_file, port=free_port()
    )
    text = new_env_text("local", public_url=isolated.public_url)
    env_file.write_text(text + "BACKUP_ENCRYPTION_KEY_FILE=backup.key\n", encoding="utf-8")
    env_file.chmod(0o600)
    stack = PitrStack(isolated, env_file)
    try:
        result = isolated.setup()
        assert result.returncode == 0, f"inv setup failed:\n{result.stdout}\n{result.stderr}"
        yield stack
    finally:
        run_inv("down", "--volumes", "--yes", env=isolated.overrides())
        listed = subprocess.run(
            ["docker", "volume", "ls", "-q", "--filter", f"name={isolated.project}_pgdata-"],
            capture_output=True,
            text=True,
            check=False,
        )
        for volume in listed.stdout.split():
            subprocess.run(["docker", "volume", "rm", volume], capture_output=True, check=False)


def _rows(stack: PitrStack) -> int:
    return int(stack.sql("SELECT count(*) FROM pitr_probe"))


def _wait_archived_past(stack: PitrStack, moment: str) -> dict:
    """Switch WAL and wait until the window reaches `moment` (an ISO time from the db)."""
    stack.sql("SELECT pg_switch_wal()")
    deadline = time.monotonic() + 120
    while True:
        window = stack.ok("backup.window")
        if window["newest"] >= moment or time.monotonic() > deadline:
            return window
        time.sleep(3)


def test_point_in_time_recovery(pitr_stack: PitrStack) -> None:
    stack = pitr_stack
    stack.sql(
        "CREATE TABLE pitr_probe"
        " (id serial PRIMARY KEY, written timestamptz DEFAULT clock_timestamp())"
    )
    for _ in range(ROWS_BEFORE):
        stack.sql("INSERT INTO pitr_probe DEFAULT VALUES")

    # Before the first base backup a logical backup still verifies: nothing to check there yet.
    stack.ok("backup")
    assert stack.ok("backup.verify")["pitr_base_backups"] is None

    base = stack.ok("backup.base", "--type", "full")
    assert base["type"] == "full" and base["label"].endswith("F")
    assert base["wal"][0] and base["wal"][1]

    time.sleep(2)
    middle = stack.sql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS+00')")
    time.sleep(2)
    for _ in range(ROWS_AFTER):
        stack.sql("INSERT INTO pitr_probe DEFAULT VALUES")
    last = stack.sql(
        "SELECT to_char(max(written) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        " FROM pitr_probe"
    )
    window = _wait_archived_past(stack, last)
    assert window["ok"] and window["oldest"] <= middle.replace(" ", "T").replace("+00", "")
    assert window["newest"] >= last, window

    listed = stack.ok("backup.list")
    (listed_base,) = listed["base_backups"]
    assert listed_base["label"] == base["label"] and listed_base["type"] == "full"
    assert listed_base["wal"] == base["wal"]

    # Refused outside the window: exit 2, one line naming it, nothing changed.
    refused = stack.inv("restore", "--to-time", "2001-01-01 00:00:00+00", "--yes")
    assert refused.returncode == 2, refused.stderr
    assert "outside the recoverable window of local:" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _rows(stack) == ROWS_BEFORE + ROWS_AFTER

    # To the end of the archived WAL: every row.
    latest = stack.ok("restore", "--to-time", "latest", "--yes")
    assert latest["safety_volume"].startswith(f"{stack.isolated.project}_pgdata-before-")
    assert _rows(stack) == ROWS_BEFORE + ROWS_AFTER
    assert stack.sql("SELECT pg_is_in_recovery()") == "f"

    # To the middle: the rows written before it only.
    stack.ok("restore", "--to-time", middle, "--yes")
    assert _rows(stack) == ROWS_BEFORE
    assert stack.sql("SELECT pg_is_in_recovery()") == "f"

    # The repository verifies (pgbackrest check and verify, beside a logical backup's).
    stack.ok("backup")
    verified = stack.ok("backup.verify")
    assert verified["pitr_base_backups"] == 1
