"""Backup and restore for real: `inv` against the suite's stack, PostgreSQL, the in-stack
object store and a moto S3 server as the remote store."""

from __future__ import annotations

import json
import os
import signal
import time

from tests.integration.backup.conftest import BACKUP_BUCKET, BackupStack, wait_for_stderr
from tests.integration.support import test_project as suffixed


def _backup(stack: BackupStack, *args: str) -> dict:
    result = stack.inv("backup", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["backup"]


def _listed(stack: BackupStack) -> dict:
    result = stack.inv("backup.list", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _seed(stack: BackupStack, count: int = 5) -> None:
    for number in range(count):
        stack.add_document(f"doc {number}", os.urandom(1000 + number * 5000))


def test_full_cycle_restores_exactly_what_was_backed_up(backup_stack: BackupStack):
    _seed(backup_stack)
    before = backup_stack.state()
    backup = _backup(backup_stack)
    assert backup["objects"]["count"] == len(before["objects"])
    keys = backup_stack.backup_keys(f"it/local/{backup['id']}/")
    assert {key.rsplit("/", 1)[-1] for key in keys} >= {
        "postgres.dump",
        "objects.json",
        "manifest.json",
    }
    assert backup["id"] in {row["id"] for row in _listed(backup_stack)["backups"]}

    # change everything: a new document, one deleted, one row edited behind the app's back
    backup_stack.add_document("added later", b"new content")
    first = backup_stack.sql("SELECT id FROM documents ORDER BY created_at LIMIT 1")[0]
    backup_stack.sql(f"DELETE FROM documents WHERE id = '{first}'")  # noqa: S608 - a uuid
    backup_stack.sql("UPDATE documents SET title = 'edited'")
    assert backup_stack.state() != before

    result = backup_stack.inv("restore", "--backup", backup["id"], "--yes")
    assert result.returncode == 0, result.stderr
    assert "safety backup" in result.stdout + result.stderr
    assert "restored backup" in result.stdout
    assert backup_stack.state() == before


def test_disaster_database_dropped_and_bucket_emptied(backup_stack: BackupStack):
    _seed(backup_stack, 3)
    before = backup_stack.state()
    backup = _backup(backup_stack)
    db = backup_stack.values["POSTGRES_DB"]
    backup_stack.sql(f"DROP DATABASE {db} WITH (FORCE)", database="postgres")
    client, bucket = backup_stack.app_bucket(), backup_stack.values.get("S3_BUCKET") or "documents"
    for item in list(client.list_objects(bucket, recursive=True)):
        client.remove_object(bucket, item.object_name)

    result = backup_stack.inv("restore", "--backup", "latest", "--yes")
    assert result.returncode == 0, result.stderr
    assert "does not exist: nothing to save" in result.stderr
    assert backup["id"] in result.stdout
    assert backup_stack.state() == before


def test_second_backup_uploads_no_unchanged_object(backup_stack: BackupStack):
    _seed(backup_stack, 2)
    _backup(backup_stack)
    again = _backup(backup_stack)
    assert again["objects"]["uploaded_count"] == 0
    assert again["objects"]["uploaded_bytes"] == 0
    assert again["objects"]["count"] > 0


def test_verify_with_scratch_restore_cleans_up(backup_stack: BackupStack):
    _seed(backup_stack, 2)
    backup = _backup(backup_stack)
    result = backup_stack.inv("backup.verify", "--backup", backup["id"], "--restore", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = backup_stack.sql("SELECT count(*) FROM documents")[0]
    assert report["tables"]["public.documents"] == int(rows)
    assert report["objects"] == backup["objects"]["count"]
    leftovers = backup_stack.sql(
        "SELECT datname FROM pg_database WHERE datname LIKE '%verify%'", database="postgres"
    )
    assert leftovers == []
    bucket = backup_stack.values.get("S3_BUCKET") or "documents"
    # recursive: SeaweedFS keeps an emptied "directory" and lists it as a prefix, which
    # holds no object (an S3 service lists prefixes only while objects are under them)
    scratch = list(
        backup_stack.app_bucket().list_objects(bucket, prefix="shipyard-verify-", recursive=True)
    )
    assert scratch == []
    assert next(r for r in _listed(backup_stack)["backups"] if r["id"] == backup["id"])["verified"]


def test_corrupt_dump_is_caught_by_verify(backup_stack: BackupStack):
    backup = _backup(backup_stack)
    key = f"it/local/{backup['id']}/postgres.dump"
    store = backup_stack.backup_store()
    response = store.get_object(BACKUP_BUCKET, key)
    data = bytearray(response.read())
    response.close()
    data[len(data) // 2] ^= 0xFF
    import io

    store.put_object(BACKUP_BUCKET, key, io.BytesIO(bytes(data)), len(data))
    result = backup_stack.inv("backup.verify", "--backup", backup["id"])
    assert result.returncode == 1
    assert "failed verification" in result.stderr
    assert "postgres.dump" in result.stderr


def test_missing_object_is_caught_by_verify(backup_stack: BackupStack):
    _seed(backup_stack, 1)
    backup = _backup(backup_stack)
    store = backup_stack.backup_store()
    index = json.loads(
        store.get_object(BACKUP_BUCKET, f"it/local/{backup['id']}/objects.json").read()
    )
    victim = next(iter(index.values()))["sha256"]
    store.remove_object(BACKUP_BUCKET, f"it/local/objects/{victim}")
    result = backup_stack.inv("backup.verify", "--backup", backup["id"])
    assert result.returncode == 1
    assert f"objects/{victim} is missing" in result.stderr


def _assert_no_new_complete_backup(stack: BackupStack, known: set[str]) -> None:
    listing = _listed(stack)
    assert {row["id"] for row in listing["backups"]} <= known
    for backup_id in listing["incomplete"]:
        assert not stack.backup_keys(f"it/local/{backup_id}/manifest.json")


def test_backup_killed_mid_upload_leaves_no_manifest(backup_stack: BackupStack, bulk_table):
    known = {row["id"] for row in _listed(backup_stack)["backups"]}
    process = backup_stack.popen_inv("backup")
    wait_for_stderr(process, "pg_dump of", 120)
    time.sleep(0.5)
    assert process.poll() is None, "the backup finished before it could be interrupted"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    _assert_no_new_complete_backup(backup_stack, known)
    result = backup_stack.inv("backup")
    assert result.returncode == 0, result.stderr
    assert "stale lock" in result.stderr


def test_pg_dump_killed_mid_stream_aborts_the_upload(backup_stack: BackupStack, bulk_table):
    known = {row["id"] for row in _listed(backup_stack)["backups"]}
    process = backup_stack.popen_inv("backup")
    wait_for_stderr(process, "pg_dump of", 120)
    time.sleep(0.3)
    backup_stack.compose(
        "exec",
        "-T",
        "db",
        "sh",
        "-c",
        "for d in /proc/[0-9]*; do grep -qx pg_dump $d/comm 2>/dev/null && kill -9 ${d#/proc/};"
        " done; true",
    )
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr
    assert "pg_dump (in db) failed" in stderr
    _assert_no_new_complete_backup(backup_stack, known)
    for backup_id in _listed(backup_stack)["incomplete"]:
        assert not backup_stack.backup_keys(f"it/local/{backup_id}/postgres.dump")
    result = backup_stack.inv("backup")
    assert result.returncode == 0, result.stderr


def test_two_backups_at_once_one_is_refused(backup_stack: BackupStack, bulk_table):
    first = backup_stack.popen_inv("backup")
    wait_for_stderr(first, "pg_dump of", 120)
    # the first holds the lock, paused so that it cannot finish before the second asks
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = backup_stack.inv("backup", "--json")
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert second.returncode == 3, second.stderr
    assert "holds" in second.stderr
    assert json.loads(second.stdout)["ok"] is False
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr


def test_unreachable_store_exits_1_and_deletes_nothing(backup_stack: BackupStack):
    _backup(backup_stack)
    keys_before = set(backup_stack.backup_keys())
    from tests.integration.support import free_port

    unreachable = backup_stack.variant("unreachable", BACKUP_S3_ENDPOINT=f"127.0.0.1:{free_port()}")
    result = backup_stack.inv("backup", env_file=unreachable, timeout=120)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "unreachable" in lines[0], result.stderr
    prune = backup_stack.inv("backup.prune", env_file=unreachable, timeout=120)
    assert prune.returncode == 1
    assert set(backup_stack.backup_keys()) == keys_before


def test_wrong_credentials_exit_1_with_one_line_and_no_secret(backup_stack: BackupStack):
    from tests.integration.backup.conftest import strong_secret

    wrong_key = strong_secret(40)
    # the in-stack object store checks SigV4 signatures, as a hosted S3 service does
    wrong = backup_stack.variant(
        "wrong-credentials",
        BACKUP_S3_ENDPOINT=backup_stack.ops_endpoint,
        BACKUP_S3_ACCESS_KEY=strong_secret(20),
        BACKUP_S3_SECRET_KEY=wrong_key,
    )
    result = backup_stack.inv("backup", env_file=wrong, timeout=120)
    assert result.returncode == 1
    assert "refused the credentials" in result.stderr
    assert wrong_key not in result.stdout + result.stderr


def test_restore_needs_yes_without_a_terminal(backup_stack: BackupStack):
    _backup(backup_stack)
    before = backup_stack.state()
    result = backup_stack.inv("restore", "--backup", "latest")
    assert result.returncode == 3
    assert "--yes" in result.stderr
    assert backup_stack.state() == before


def test_metrics_textfile_written_on_success(backup_stack: BackupStack):
    backup = _backup(backup_stack)
    from shipyard.config import PROJECT_ROOT

    name = f"shipyard_backup_{suffixed('docstore-backup-it')}_local.prom"
    path = PROJECT_ROOT / ".shipyard" / "metrics" / name
    text = path.read_text(encoding="utf-8")
    assert 'shipyard_backup_last_success_timestamp_seconds{env="local"}' in text
    stored = backup["database"]["stored_bytes"]
    assert f'shipyard_backup_last_bytes{{env="local",part="database_stored"}} {stored}' in text
