"""Pure pieces of the backup package: command lines, cron, metrics, targets, ids, parts."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from shipyard.backup import dump, metrics, schedule
from shipyard.backup.lock import is_stale
from shipyard.backup.manifest import (
    DatabasePart,
    Manifest,
    ObjectsPart,
    is_backup_id,
    new_backup_id,
    started_at,
)
from shipyard.backup.store import MIN_PART, describe_failure, part_size_for
from shipyard.backup.target import S3Location, app_store, backup_target
from shipyard.errors import CommandFailedError, ConfigError

ENV_FILE = Path("/srv/app/.env")


def test_pg_dump_is_custom_format_uncompressed_without_password():
    assert dump.pg_dump("app", "docs") == [
        "stdbuf",
        "--output=4M",
        "pg_dump",
        "--username",
        "app",
        "--dbname",
        "docs",
        "--no-password",
        "--format=custom",
        "--compress=0",
    ]


def test_pg_restore_drops_owners_and_acls_and_stops_at_the_first_error():
    assert dump.pg_restore("app", "docs") == [
        "pg_restore",
        "--username",
        "app",
        "--dbname",
        "docs",
        "--no-password",
        "--no-owner",
        "--no-acl",
        "--exit-on-error",
    ]
    assert dump.pg_restore_list() == ["pg_restore", "--list"]


def test_sql_quoting():
    assert dump.quote_ident('we"ird') == '"we""ird"'
    assert dump.quote_literal("o'neil") == "'o''neil'"
    assert "datname = 'docs'" in dump.terminate_sql("docs")
    assert dump.psql("app", "postgres", "SELECT 1")[-2:] == ["--command", "SELECT 1"]


def _job(**changes) -> schedule.CronJob:
    fields = {
        "schedule": "17 3 * * *",
        "workdir": PurePosixPath("/srv/ship yard"),
        "inv": PurePosixPath("/srv/ship yard/.venv/bin/inv"),
        "env": "production",
        "project": "docstore",
        "log_file": PurePosixPath("/srv/ship yard/.shipyard/logs/backup.log"),
        "on_host": True,
    }
    return schedule.CronJob(**{**fields, **changes})


def test_cron_line_is_exact():
    assert _job().line() == (
        "17 3 * * * cd '/srv/ship yard' && PATH=" + schedule.CRON_PATH + " '/srv/ship yard/"
        ".venv/bin/inv' backup --env production --on-host --json >> '/srv/ship yard/.shipyard/"
        "logs/backup.log' 2>&1 # shipyard-backup docstore/production"
    )
    assert "--on-host" not in _job(on_host=False, env="local").line()
    assert "%" not in _job().line()  # cron would turn % into a newline


def test_crontab_merge_is_idempotent_and_keeps_other_lines():
    existing = "MAILTO=ops@example.com\n5 * * * * /usr/bin/true\n"
    once = schedule.merged_crontab(existing, _job())
    assert once.startswith(existing)
    assert schedule.merged_crontab(once, _job()) == once
    moved = schedule.merged_crontab(once, _job(schedule="0 1 * * *"))
    assert moved.count("shipyard-backup docstore/production") == 1
    assert "0 1 * * *" in moved and "17 3 * * *" not in moved
    other_env = schedule.merged_crontab(once, _job(env="staging"))
    assert other_env.count("# shipyard-backup") == 2


def test_logrotate_rule_caps_the_log():
    rule = schedule.logrotate_rule(PurePosixPath("/var/log/b.log"))
    assert rule.startswith("/var/log/b.log {\n")
    assert "size 10M" in rule and "rotate 5" in rule and "copytruncate" in rule


def test_metrics_textfile():
    text = metrics.textfile(
        "production", finished=1700000000.5, duration=42.25, sizes={"database_stored": 10}
    )
    assert 'shipyard_backup_last_success_timestamp_seconds{env="production"} 1700000000.500' in text
    assert 'shipyard_backup_last_duration_seconds{env="production"} 42.250' in text
    assert 'shipyard_backup_last_bytes{env="production",part="database_stored"} 10' in text
    assert text.endswith("\n")
    assert text.count("# TYPE") == 3


def test_part_size_fits_ten_thousand_parts_and_has_a_floor():
    assert part_size_for(0) == MIN_PART
    assert part_size_for(500 * 1024 * 1024) == MIN_PART
    huge = 200 * 1024**3
    size = part_size_for(huge)
    assert size % (1024 * 1024) == 0
    assert 2 * huge / size <= 9000


def test_backup_ids_sort_by_time():
    from datetime import UTC, datetime

    when = datetime(2025, 3, 14, 3, 17, tzinfo=UTC)
    backup_id = new_backup_id(when)
    assert backup_id == "20250314T031700Z"
    assert is_backup_id(backup_id) and not is_backup_id("objects")
    assert started_at(backup_id) == when


def test_manifest_round_trip_and_rejects_garbage():
    manifest = Manifest(
        id="20250314T031700Z",
        env="local",
        kind="scheduled",
        started_at="a",
        finished_at="b",
        duration_seconds=1.5,
        database=DatabasePart("postgres.dump", "zstd", 1, "s", 2, "r", "docs"),
        objects=ObjectsPart("objects.json", "i", 3, 4, 1, 2, "documents"),
    )
    assert Manifest.from_json(manifest.to_json(), "m") == manifest
    with pytest.raises(CommandFailedError, match="not a valid manifest"):
        Manifest.from_json(b'{"format": 99}', "m")


VALUES = {"S3_ACCESS_KEY": "appkey", "S3_SECRET_KEY": "appsecret"}
OPS = "127.0.0.1:49153"


def test_app_store_is_reached_through_the_published_loopback_port():
    store = app_store(VALUES, OPS)
    assert (store.endpoint, store.bucket, store.secure) == (OPS, "documents", False)
    with pytest.raises(ConfigError, match="not published"):
        app_store(VALUES, None)
    external = app_store({**VALUES, "S3_ENDPOINT": "s3.example.com:443", "S3_SECURE": "true"}, None)
    assert (external.endpoint, external.secure) == ("s3.example.com:443", True)


def test_local_backups_default_to_the_in_stack_store():
    target = backup_target(VALUES, "local", ENV_FILE, OPS)
    assert target.location.endpoint == OPS
    assert target.location.bucket == "backups"
    assert target.location.access_key == "appkey"
    assert target.base == "shipyard/local"
    assert target.key_file is None


def test_servers_need_a_remote_backup_endpoint():
    with pytest.raises(ConfigError, match="BACKUP_S3_ENDPOINT is not set"):
        backup_target(VALUES, "production", ENV_FILE, OPS)
    with pytest.raises(ConfigError, match="BACKUP_S3_ACCESS_KEY"):
        backup_target(
            {**VALUES, "BACKUP_S3_ENDPOINT": "s3.example.com:443"}, "staging", ENV_FILE, OPS
        )


def test_remote_target_and_key_file_beside_the_env_file():
    values = {
        **VALUES,
        "BACKUP_S3_ENDPOINT": "s3.example.com:443",
        "BACKUP_S3_ACCESS_KEY": "k" * 20,
        "BACKUP_S3_SECRET_KEY": "s" * 40,
        "BACKUP_S3_SECURE": "true",
        "BACKUP_S3_PREFIX": "ops/backups",
        "BACKUP_ENCRYPTION_KEY_FILE": "backup.key",
    }
    target = backup_target(values, "production", ENV_FILE, None)
    assert target.location.url == "https://s3.example.com:443/backups"
    assert target.base == "ops/backups/production"
    assert target.key_file == Path("/srv/app/backup.key")
    assert "s" * 40 not in repr(target)


def test_failures_are_one_line_without_secrets():
    import urllib3
    from minio.error import S3Error

    location = S3Location("127.0.0.1:1", "b", "AKIAEXAMPLEKEY123456", "topsecretvalue" * 3)
    refused = S3Error(None, "SignatureDoesNotMatch", "bad", "/b", "r", "h")  # type: ignore[arg-type]
    line = describe_failure(refused, location, "backup store")
    assert line == (
        "backup store http://127.0.0.1:1/b refused the credentials (SignatureDoesNotMatch);"
        " check the access and secret key"
    )
    down = urllib3.exceptions.MaxRetryError(
        None, "/b", ConnectionRefusedError(111, "Connection refused")
    )
    line = describe_failure(down, location, "backup store")
    assert line.startswith("backup store http://127.0.0.1:1/b is unreachable")
    assert "\n" not in line and "topsecret" not in line


def test_stale_lock_only_for_a_dead_process_on_this_host():
    def dead(_pid):
        return False

    def alive(_pid):
        return True

    owner = {"host": "vm1", "pid": 4242}
    assert is_stale(owner, host="vm1", alive=dead)
    assert not is_stale(owner, host="vm1", alive=alive)
    assert not is_stale(owner, host="laptop", alive=dead)
    assert not is_stale({"host": "vm1"}, host="vm1", alive=dead)
