"""Encryption, the cron line, and the disaster-recovery drill, for real."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from shipyard.backup.crypto import MAGIC
from tests.integration.backup.conftest import BACKUP_BUCKET, BackupStack
from tests.integration.support import test_project as suffixed


def _first_bytes(stack: BackupStack, key: str) -> bytes:
    response = stack.backup_store().get_object(BACKUP_BUCKET, key)
    try:
        return response.read(len(MAGIC))
    finally:
        response.close()
        response.release_conn()


def test_encrypted_backups_restore_only_with_their_key(backup_stack: BackupStack, tmp_path):
    backup_stack.add_document("secret plans", os.urandom(5000))
    key_file, other_key = tmp_path / "backup.key", tmp_path / "other.key"
    key_file.write_text(os.urandom(32).hex() + "\n")
    other_key.write_text(os.urandom(32).hex() + "\n")
    encrypted = backup_stack.variant(
        "encrypted", BACKUP_S3_PREFIX="enc", BACKUP_ENCRYPTION_KEY_FILE=str(key_file)
    )
    result = backup_stack.inv("backup", "--json", env_file=encrypted)
    assert result.returncode == 0, result.stderr
    backup = json.loads(result.stdout)["backup"]
    assert backup["encryption"]["algorithm"] == "AES-256-GCM"
    base = f"enc/local/{backup['id']}"
    assert _first_bytes(backup_stack, f"{base}/postgres.dump") == MAGIC
    assert _first_bytes(backup_stack, f"{base}/objects.json") == MAGIC
    objects = [key for key in backup_stack.backup_keys("enc/local/objects/")]
    assert objects and all(_first_bytes(backup_stack, key) == MAGIC for key in objects)

    verified = backup_stack.inv("backup.verify", "--restore", env_file=encrypted)
    assert verified.returncode == 0, verified.stderr

    before = backup_stack.state()
    wrong = backup_stack.variant(
        "wrong-key", BACKUP_S3_PREFIX="enc", BACKUP_ENCRYPTION_KEY_FILE=str(other_key)
    )
    refused = backup_stack.inv("restore", "--backup", backup["id"], "--yes", env_file=wrong)
    assert refused.returncode == 2
    assert "wrong key" in refused.stderr
    no_key = backup_stack.variant("no-key", BACKUP_S3_PREFIX="enc", BACKUP_ENCRYPTION_KEY_FILE="")
    refused = backup_stack.inv("restore", "--backup", backup["id"], "--yes", env_file=no_key)
    assert refused.returncode == 2
    assert "no key is configured" in refused.stderr
    assert backup_stack.state() == before


@pytest.fixture
def cron_user() -> Iterator[str]:
    """A throwaway system user whose crontab the test may change."""
    name = f"sycron{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)
    yield name
    subprocess.run(["crontab", "-u", name, "-r"], check=False, capture_output=True)
    subprocess.run(["userdel", name], check=True)


def test_schedule_installs_one_exact_cron_line_idempotently(
    backup_stack: BackupStack, cron_user: str, tmp_path
):
    rotate = tmp_path / "logrotate.d"
    args = ("backup.schedule", "--user", cron_user, "--logrotate-dir", str(rotate))
    first = backup_stack.inv(*args)
    assert first.returncode == 0, first.stderr
    line = first.stdout.splitlines()[0]
    assert "installed:" in first.stdout
    second = backup_stack.inv(*args)
    assert second.returncode == 0, second.stderr
    assert "already installed" in second.stdout
    crontab = subprocess.run(
        ["crontab", "-u", cron_user, "-l"], capture_output=True, text=True, check=True
    ).stdout
    assert crontab.splitlines() == [line]
    assert line.startswith("17 3 * * * cd ")
    assert " backup --env local --json >> " in line
    assert line.endswith(f"# shipyard-backup {suffixed('docstore-backup-it')}/local")
    rules = list(rotate.iterdir())
    assert len(rules) == 1
    check = subprocess.run(
        ["logrotate", "--debug", "--state", str(tmp_path / "state"), str(rules[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert "error" not in check.stderr.lower(), check.stderr


def test_drill_restores_latest_into_a_throwaway_stack_and_removes_it(backup_stack: BackupStack):
    backup_stack.add_document("drill me", os.urandom(3000))
    backup = json.loads(backup_stack.inv("backup", "--json").stdout)["backup"]
    result = backup_stack.inv("dr.drill", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["backup"] == backup["id"]
    assert report["recovery_seconds"] > report["restore_seconds"] > 0
    rows = backup_stack.sql("SELECT count(*) FROM documents")[0]
    assert report["tables"]["public.documents"] == int(rows)
    assert report["objects"] == backup["objects"]["count"]
    leftovers = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            "name=docstore-backup-it-drill",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert leftovers == ""
