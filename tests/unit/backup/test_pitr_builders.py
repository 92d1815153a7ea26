"""Point-in-time recovery: pgBackRest's rendered configuration, its command lines, the
parsing of what it prints, the recoverable window and the restore's command lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest
import yaml

from shipyard import secretfiles
from shipyard.backup import pgbackrest, pitr_config, pitr_restore, schedule
from shipyard.compose import ComposeProject
from shipyard.config import PROJECT_ROOT
from shipyard.errors import CommandFailedError, ConfigError

LOCAL = {
    "APP_ENV": "local",
    "POSTGRES_USER": "docstore",
    "S3_ENDPOINT": "objectstore:9000",
    "S3_ACCESS_KEY": "app-access-key",
    "S3_SECRET_KEY": "app-secret-key-0123456789",
}
REMOTE = {
    "APP_ENV": "production",
    "POSTGRES_USER": "docstore",
    "BACKUP_S3_ENDPOINT": "s3.eu-west-1.amazonaws.com",
    "BACKUP_S3_ACCESS_KEY": "AKIAEXAMPLE0000000000",
    "BACKUP_S3_SECRET_KEY": "remote-secret-key-0123456789",
    "BACKUP_S3_BUCKET": "offsite",
    "BACKUP_S3_PREFIX": "acme/docs",
    "BACKUP_S3_REGION": "eu-west-1",
    "BACKUP_S3_SECURE": "true",
}
KEY = bytes(range(32))
# `pgbackrest info --output=json` and `repo-ls --output=json` as pgBackRest 2.45 printed them.
INFO = (
    '[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000006",'
    '"min":"000000010000000000000001"}],"backup":[{"archive":{"start":"000000010000000000000003",'
    '"stop":"000000010000000000000003"},"backrest":{"format":5,"version":"2.45"},"database":'
    '{"id":1,"repo-key":1},"error":false,"info":{"delta":30865499,"repository":{"delta":3766783,'
    '"size":3766783},"size":30865499},"label":"20261203-124243F","lsn":{"start":"0/3000028",'
    '"stop":"0/303A778"},"prior":null,"reference":null,"timestamp":{"start":1796301763,'
    '"stop":1796301794},"type":"full"}],"cipher":"none","db":[{"id":1,"repo-key":1,'
    '"system-id":7715057096959123484,"version":"15"}],"name":"db","repo":[{"cipher":"none",'
    '"key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":'
    '{"held":false}},"message":"ok"}}]'
)
REPO_LS = (
    '{".":{"type":"path"},"000000010000000000000005-33d413c5e8f75a5e9f4e7afb389f0ca7c6c390c0.zst":'
    '{"type":"file","size":35868,"time":1796301911},'
    '"000000010000000000000006-4d607a2447c03a925053af84650c52995240cee0.zst":'
    '{"type":"file","size":616,"time":1796301990}}'
)
PROJECT = ComposeProject(
    project="docstore", files=(Path("/srv/c.yaml"),), env_file=Path("/srv/.env")
)


def _settings(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_in_stack_store_goes_through_the_tls_relay() -> None:
    files = pitr_config.render(LOCAL, None)
    conf = _settings(files.config)
    assert files.relay == "objectstore:9000"
    assert conf["repo1-s3-endpoint"] == "objectstore"
    assert conf["repo1-storage-host"] == "127.0.0.1"
    assert conf["repo1-storage-port"] == str(pitr_config.RELAY_PORT)
    assert conf["repo1-storage-verify-tls"] == "n"
    assert conf["repo1-s3-key"] == "app-access-key"
    assert conf["repo1-path"] == "/shipyard/pgbackrest/local"
    assert conf["repo1-s3-uri-style"] == "path"
    assert conf["pg1-user"] == "docstore"
    assert "repo1-cipher-type" not in conf


def test_remote_tls_store_is_reached_directly_and_encrypted() -> None:
    files = pitr_config.render(REMOTE, KEY, io_timeout=30)
    conf = _settings(files.config)
    assert files.relay == ""
    assert conf["repo1-s3-endpoint"] == "s3.eu-west-1.amazonaws.com"
    assert conf["repo1-storage-port"] == "443"
    assert "repo1-storage-verify-tls" not in conf
    assert conf["repo1-s3-bucket"] == "offsite"
    assert conf["repo1-s3-region"] == "eu-west-1"
    assert conf["repo1-path"] == "/acme/docs/pgbackrest/production"
    assert conf["repo1-cipher-type"] == "aes-256-cbc"
    assert conf["repo1-cipher-pass"] == pitr_config.cipher_pass(KEY)
    assert conf["io-timeout"] == "30"


def test_cipher_pass_follows_the_key_and_does_not_reveal_it() -> None:
    assert pitr_config.cipher_pass(KEY) == pitr_config.cipher_pass(bytes(range(32)))
    assert pitr_config.cipher_pass(KEY) != pitr_config.cipher_pass(bytes(32))
    assert KEY.hex() not in pitr_config.cipher_pass(KEY)


def test_production_without_a_backup_store_gets_no_configuration() -> None:
    values = {k: v for k, v in REMOTE.items() if not k.startswith("BACKUP_S3_ENDPOINT")}
    assert pitr_config.render(values, KEY) == pitr_config.PitrFiles("", "")


def test_secret_files_carry_the_rendered_configuration() -> None:
    files = {secret.path: content for secret, content in secretfiles.contents(LOCAL).items()}
    assert files["pgbackrest/pgbackrest.conf"] == pitr_config.render(LOCAL, None).config.encode()
    assert files["pgbackrest/relay"] == b"objectstore:9000"
    assert secretfiles.fingerprint(LOCAL) != secretfiles.fingerprint(LOCAL, KEY)


def test_command_lines() -> None:
    head = ["pgbackrest", "--config=/run/secrets/pgbackrest.conf", "--stanza=db"]
    assert pgbackrest.stanza_create(60) == [*head, "--io-timeout=60", "stanza-create"]
    assert pgbackrest.base_backup("diff", retention_full=2, io_timeout=60) == [
        *head,
        "--type=diff",
        "--repo1-retention-full=2",
        "--io-timeout=60",
        "backup",
    ]
    assert pgbackrest.info() == [*head, "--output=json", "--log-level-console=warn", "info"]
    assert pgbackrest.verify(10) == [*head, "--io-timeout=10", "verify"]
    assert pgbackrest.check(10) == [*head, "--io-timeout=10", "check"]
    assert pgbackrest.archive_listing("15-1", "000000010000000000000006")[-2:] == [
        "repo-ls",
        "archive/db/15-1/0000000100000000",
    ]
    with pytest.raises(ValueError, match="not one of full, diff, incr"):
        pgbackrest.base_backup("weekly", retention_full=2, io_timeout=60)


def test_info_and_window() -> None:
    stanza = pgbackrest.parse_info(INFO)
    (backup,) = stanza.backups
    assert backup.label == "20261203-124243F"
    assert backup.type == "full"
    assert (backup.wal_start, backup.wal_stop) == ("000000010000000000000003",) * 2
    assert backup.stopped == datetime.fromtimestamp(1796301794, UTC)
    assert stanza.newest_archive == pgbackrest.ArchiveInfo(
        "15-1", "000000010000000000000001", "000000010000000000000006"
    )
    newest = pgbackrest.parse_segment_time(REPO_LS, "000000010000000000000006")
    assert newest == datetime.fromtimestamp(1796301990, UTC)
    window = pgbackrest.recoverable_window(stanza, newest)
    assert window is not None
    # pgBackRest needs a backup that stopped before the target: the window opens 1 s later.
    assert window.describe() == "2026-12-03T12:43:15+00:00 .. 2026-12-03T12:46:30+00:00"
    assert pgbackrest.parse_segment_time(REPO_LS, "000000010000000000000007") is None
    assert pgbackrest.recoverable_window(pgbackrest.StanzaInfo("ok", (), ()), newest) is None


def test_unreadable_info_is_one_line() -> None:
    with pytest.raises(CommandFailedError, match="pgbackrest info printed"):
        pgbackrest.parse_info("not json")


def test_targets_and_the_window_refusal() -> None:
    assert pitr_restore.parse_target("latest") is None
    assert pitr_restore.parse_target("2026-12-03 10:14:00+01") == datetime(
        2026, 12, 3, 9, 14, tzinfo=UTC
    )
    with pytest.raises(ConfigError, match="not a time with a UTC offset"):
        pitr_restore.parse_target("2026-12-03 10:14:00")
    window = pgbackrest.Window(
        datetime(2026, 12, 3, 10, tzinfo=UTC), datetime(2026, 12, 3, 11, tzinfo=UTC)
    )
    pitr_restore.check_in_window(datetime(2026, 12, 3, 10, 30, tzinfo=UTC), window, "local")
    pitr_restore.check_in_window(None, window, "local")
    with pytest.raises(ConfigError) as refused:
        pitr_restore.check_in_window(datetime(2026, 12, 3, 9, tzinfo=UTC), window, "local")
    assert str(refused.value).endswith(
        "outside the recoverable window of local:"
        " 2026-12-03T10:00:00+00:00 .. 2026-12-03T11:00:00+00:00"
    )
    with pytest.raises(ConfigError, match="no base backup"):
        pitr_restore.check_in_window(None, None, "local")


def test_restore_command_lines() -> None:
    live, recovered, safety = pitr_restore.volume_names("docstore", "20261203101400")
    assert (live, recovered, safety) == (
        "docstore_pgdata",
        "docstore_pgdata-pitr-20261203101400",
        "docstore_pgdata-before-20261203101400",
    )
    at = datetime(2026, 12, 3, 10, 14, tzinfo=UTC)
    head = [*PROJECT.base(), "run", "--rm", "--no-deps", "-T", "--volume", f"{recovered}:/restore"]
    tool = ["pgbackrest", "--config=/run/secrets/pgbackrest.conf", "--stanza=db"]
    assert pitr_restore.restore_argv(PROJECT, recovered, at) == [
        *head,
        "db",
        *tool,
        "--pg1-path=/restore/data",
        "--type=time",
        "--target=2026-12-03 10:14:00+00",
        "--target-action=promote",
        "restore",
    ]
    assert pitr_restore.restore_argv(PROJECT, recovered, None) == [
        *head,
        "db",
        *tool,
        "--pg1-path=/restore/data",
        "--type=default",
        "restore",
    ]
    assert pitr_restore.trial_argv(PROJECT, recovered, "trial") == [
        *PROJECT.base(),
        "run",
        "-d",
        "--no-deps",
        "--name",
        "trial",
        "--env",
        "PGDATA=/restore/data",
        "--volume",
        f"{recovered}:/restore",
        "db",
        "postgres",
        "-c",
        "archive_mode=off",
    ]
    switch = pitr_restore.switch_argv(PROJECT, recovered, safety)
    assert switch[-1] == (
        "cp -a /var/lib/postgresql/data/. /before/ && find /var/lib/postgresql/data -mindepth 1"
        " -delete && cp -a /restore/data/. /var/lib/postgresql/data/"
    )
    assert f"{safety}:/before" in switch
    assert pitr_restore.parse_check("false 3\n") == (False, 3)
    assert pitr_restore.parse_check("true 0") == (True, 0)


def test_compose_pitr_mounts_exactly_the_pitr_files() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "compose" / "compose.pitr.yaml").read_text())
    data = "${SHIPYARD_DATA_SECRETS_DIR:-${SHIPYARD_SECRETS_DIR:-../.shipyard/secrets}}"
    declared = {name: spec["file"] for name, spec in compose["secrets"].items()}
    assert declared == {
        "db_pgbackrest_conf": f"{data}/pgbackrest/pgbackrest.conf",
        "db_pgbackrest_relay": f"{data}/pgbackrest/relay",
    }
    assert set(declared.values()) == {f"{data}/{s.path}" for s in secretfiles.PITR_FILES}
    mounted = {m["target"] for m in compose["services"]["db"]["secrets"]}
    assert mounted == {"postgres_password", "pgbackrest.conf", "pgbackrest_relay"}
    assert pitr_config.CONFIG_PATH == "/run/secrets/pgbackrest.conf"
    assert "environment" not in compose["services"]["db"]


def test_base_backup_cron_lines_live_beside_the_nightly_dump() -> None:
    nightly = schedule.CronJob(
        schedule="17 3 * * *",
        workdir=PurePosixPath("/srv/shipyard"),
        inv=PurePosixPath("/srv/shipyard/.venv/bin/inv"),
        env="production",
        project="docstore",
        log_file=PurePosixPath("/srv/docstore/backup.log"),
        on_host=True,
    )
    full = replace(
        nightly, schedule="47 2 * * 0", task=("backup.base", "--type", "full"), kind="base-full"
    )
    assert full.line() == (
        "47 2 * * 0 cd /srv/shipyard && PATH=" + schedule.CRON_PATH + " /srv/shipyard/.venv/"
        "bin/inv backup.base --type full --env production --on-host --json >> /srv/docstore/"
        "backup.log 2>&1 # shipyard-backup-base-full docstore/production"
    )
    crontab = schedule.merged_crontab(schedule.merged_crontab("", nightly), full)
    assert schedule.merged_crontab(crontab, full) == crontab
    assert (
        schedule.merged_crontab(crontab, nightly)
        == crontab.replace(nightly.line() + "\n", "") + nightly.line() + "\n"
    )
    assert crontab.count("\n") == 2


def test_recovery_runs_the_image_the_live_database_runs() -> None:
    assert pitr_restore.running_image_argv(PROJECT) == [
        "sh",
        "-c",
        'docker inspect --format "{{.Image}}" $(docker compose --project-name docstore'
        " --env-file /srv/.env --file /srv/c.yaml ps -q db)",
    ]
