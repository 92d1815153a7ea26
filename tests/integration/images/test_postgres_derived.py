"""The upstream postgres image made PITR-ready: `images/postgres/Dockerfile.upstream`,
built by `shipyard.images.derived` on top of a postgres image that has no pgBackRest,
archives WAL to an S3 store exactly as compose/compose.pitr.yaml runs the db.

postgres:16 itself cannot be pulled here; its stand-in with pgBackRest, socat and the
relay taken out plays it (a Debian bookworm image with PostgreSQL, as postgres:16 is).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from minio import Minio

from shipyard.backup import pitr_config
from shipyard.config import PROJECT_ROOT
from shipyard.images import catalog
from shipyard.images.derived import derive
from shipyard.images.engine import Engine
from tests.integration.images.support import Container, Sandbox, docker, wait_until
from tests.integration.support import build_image

pytestmark = pytest.mark.integration

WITHOUT_PGBACKREST = "shipyard-test/postgres-without-pgbackrest:16"
USER, DB = "docstore", "docstore"


def compose_db_service() -> dict:
    text = (PROJECT_ROOT / "compose" / "compose.pitr.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["services"]["db"]


def unescaped(argument: str) -> str:
    """A compose value as the container gets it: `$$` is `$`, the archive timeout's default."""
    return argument.replace("$$", "$").replace("${PG_ARCHIVE_TIMEOUT:-60}", "60")


@pytest.fixture(scope="module")
def derived(standins) -> Iterator[str]:
    """The derived image, built on the stand-in stripped of what the derivation adds."""
    build_image(
        f"FROM {standins['postgres']}\n"
        "RUN apt-get purge -y pgbackrest socat && rm /usr/local/bin/pgbackrest-relay\n",
        WITHOUT_PGBACKREST,
    )
    tag = catalog.get("postgres").derivation.tag  # type: ignore[union-attr]
    try:
        assert derive(catalog.get("postgres"), WITHOUT_PGBACKREST, engine=Engine()) == tag
        yield tag
    finally:
        docker("image", "rm", "--force", tag, WITHOUT_PGBACKREST, check=False)


def test_the_base_lacks_what_the_derivation_adds(derived, sandbox: Sandbox):
    lacking = sandbox.run(WITHOUT_PGBACKREST, "sh", "-c", "command -v pgbackrest", check=False)
    assert lacking.returncode != 0
    has = sandbox.run(derived, "sh", "-c", "pgbackrest version && command -v socat openssl")
    assert has.stdout.startswith("pgBackRest 2.")
    assert "pgbackrest-relay" in sandbox.run(derived, "ls", "/usr/local/bin").stdout


def test_a_current_derivation_is_not_rebuilt(derived):
    labels = Engine().image_labels(derived) or {}
    before = docker("image", "inspect", "--format", "{{.Id}}", derived).stdout
    assert derive(catalog.get("postgres"), WITHOUT_PGBACKREST, engine=Engine()) == derived
    assert docker("image", "inspect", "--format", "{{.Id}}", derived).stdout == before
    assert labels.get(catalog.CONTEXT_HASH_LABEL, "unknown") != "unknown"


def test_the_derived_db_archives_wal_as_the_pitr_compose_file_runs_it(
    derived, standins, sandbox: Sandbox, tmp_path: Path
):
    network = sandbox.network()
    access, secret = secrets.token_hex(10), secrets.token_hex(20)
    run_secrets = tmp_path / "secrets"
    run_secrets.mkdir()
    for name, value in (("s3_access_key", access), ("s3_secret_key", secret)):
        (run_secrets / name).write_text(value, encoding="utf-8")
    store = sandbox.start(
        standins["objectstore"],
        options=[
            "--network", network, "--network-alias", "objectstore", "-p", "127.0.0.1::9000",
            "-e", "MINIO_ROOT_USER_FILE=/run/secrets/s3_access_key",
            "-e", "MINIO_ROOT_PASSWORD_FILE=/run/secrets/s3_secret_key",
            "-v", f"{run_secrets}:/run/secrets:ro",
        ],
    )  # fmt: skip
    client = Minio(f"127.0.0.1:{store.host_port(9000)}", access, secret, secure=False)
    wait_until("the object store", lambda: _answers(client), timeout=90)
    client.make_bucket("backups")

    values = {
        "APP_ENV": "local",
        "POSTGRES_USER": USER,
        "S3_ACCESS_KEY": access,
        "S3_SECRET_KEY": secret,
        "BACKUP_S3_BUCKET": "backups",
    }
    files = pitr_config.render(values, os.urandom(32))
    db_secrets = tmp_path / "db-secrets"
    db_secrets.mkdir()
    for name, text in (
        ("pgbackrest.conf", files.config),
        ("pgbackrest_relay", files.relay),
        ("postgres_password", secrets.token_hex(16)),
    ):
        (db_secrets / name).write_text(text, encoding="utf-8")
        os.chown(db_secrets / name, 999, 999)
        (db_secrets / name).chmod(0o400)
    service = compose_db_service()
    entrypoint = [unescaped(part) for part in service["entrypoint"]]
    command = [unescaped(part) for part in service["command"]]
    # `docker run --entrypoint` takes one word: the rest of compose's entrypoint leads the
    # command, as compose itself passes it
    db = sandbox.start(
        derived,
        *entrypoint[1:],
        *command,
        options=[
            "--network", network, "--init", "--user", "999:999",
            "-e", f"POSTGRES_USER={USER}", "-e", f"POSTGRES_DB={DB}",
            "-e", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password",
            "-v", f"{db_secrets}:/run/secrets:ro",
            "--entrypoint", entrypoint[0],
        ],
    )  # fmt: skip
    wait_until("PostgreSQL", lambda: _ready(db), timeout=120)
    pgbackrest = ["pgbackrest", f"--config={pitr_config.CONFIG_PATH}", "--stanza=db"]
    created = db.exec(*pgbackrest, "stanza-create", check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    # `check` switches to a new WAL segment and waits until archive_command stored it
    checked = db.exec(*pgbackrest, "check", check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    archived = [
        item.object_name
        for item in client.list_objects(
            "backups", prefix="shipyard/pgbackrest/local/", recursive=True
        )
        if "/archive/db/" in str(item.object_name)
    ]
    assert archived, "no WAL segment reached the store"


def _answers(client: Minio) -> bool:
    try:
        client.list_buckets()
    except Exception:  # starting up
        return False
    return True


def _ready(db: Container) -> bool:
    probe = db.exec("pg_isready", "-h", "127.0.0.1", "-U", USER, "-d", DB, check=False)
    return probe.returncode == 0
