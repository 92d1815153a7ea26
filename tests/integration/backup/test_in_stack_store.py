"""The stack's own object store keeps its data: documents and in-stack backups survive a
restart of its container, and a 1 GB backup into it leaves it running (no OOM kill, no
restart) with a backup that verifies. bench/objectstore_memory.py measures its memory."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.backup.conftest import BackupStack

BIG_MB = 1024
"""Random bytes in the database: about 1 GB on disk and 1 GB stored after zstd."""


def _container(stack: BackupStack) -> dict:
    container = stack.compose("ps", "--all", "--quiet", "objectstore").strip()
    out = subprocess.run(
        ["docker", "inspect", container], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)[0]


def _wait_healthy(stack: BackupStack, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _container(stack)["State"].get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(1)
    raise AssertionError(f"the object store is not healthy {timeout:.0f} s after a restart")


def test_documents_and_backups_survive_a_restart_of_the_object_store(
    backup_stack: BackupStack, in_stack: Path
):
    content = os.urandom(200_000)
    document = backup_stack.add_document("kept across a restart", content)
    backup = backup_stack.inv("backup", "--json", env_file=in_stack)
    assert backup.returncode == 0, backup.stderr
    backup_id = json.loads(backup.stdout)["backup"]["id"]
    before = backup_stack.state()

    backup_stack.compose("restart", "objectstore")
    _wait_healthy(backup_stack)
    # Docker may publish the restarted container's S3 port on another loopback port.
    backup_stack.ops_endpoint = backup_stack.compose("port", "objectstore", "9000").strip()

    response = httpx.get(f"{backup_stack.url}/documents/{document}/content", timeout=30)
    assert response.status_code == 200, response.text
    assert response.content == content
    assert backup_stack.state() == before
    listed = backup_stack.inv("backup.list", "--json", env_file=in_stack)
    assert listed.returncode == 0, listed.stderr
    assert backup_id in {row["id"] for row in json.loads(listed.stdout)["backups"]}


@pytest.fixture
def big_table(backup_stack: BackupStack):
    """About 1 GB of incompressible bytes; dropped afterwards."""
    backup_stack.sql("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    rows = BIG_MB * 1024
    create = "CREATE TABLE big AS SELECT g AS id, gen_random_bytes(1024) AS payload"
    backup_stack.sql(f"{create} FROM generate_series(1, {rows}) g")
    yield "public.big"
    backup_stack.sql("DROP TABLE IF EXISTS big")


def test_a_1_gb_backup_into_the_stack_store_leaves_it_up(
    backup_stack: BackupStack, big_table, in_stack: Path
):
    started = _container(backup_stack)["State"]
    result = backup_stack.inv("backup", "--json", "--no-prune", env_file=in_stack, timeout=1800)
    assert result.returncode == 0, result.stderr
    backup = json.loads(result.stdout)["backup"]
    assert backup["database"]["stored_bytes"] > 0.9e9

    after = _container(backup_stack)
    assert after["State"]["Running"] and not after["State"]["OOMKilled"]
    assert after["State"]["StartedAt"] == started["StartedAt"]
    assert after["RestartCount"] == 0
    verified = backup_stack.inv(
        "backup.verify", "--backup", backup["id"], env_file=in_stack, timeout=1800
    )
    assert verified.returncode == 0, verified.stderr
