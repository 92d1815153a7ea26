"""Point-in-time recovery proven on the sandbox (issue 16): rows are written one a second,
the VM is destroyed (`inv sandbox.down`), a fresh one is brought up and deployed, and
`inv restore --to-time latest` and `--to-time <middle>` bring the rows back from a backup
store that outlived the VM.

The store is a SeaweedFS stand-in container on this machine (its own name), published on
the sandbox VM's gateway address: the VM's db container reaches it through the `archive`
network and the VM's default route, and this workstation (`inv backup.window`, the
catalog) reaches the same address directly.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio import Minio

from shipyard.envfile.schema import BY_NAME
from shipyard.images.standins import build_standins
from shipyard.sandbox.tls import set_values
from tests.e2e.support import CONTAINER, IsolatedSandbox
from tests.integration.images.support import wait_until
from tests.integration.support import free_port, run_inv

BUCKET = "pitr-e2e"
# One row a second, each committed at about x.5 s, so a whole-second target never falls
# within half a second of a commit. 400 rows bound the writer; it dies with the VM first.
TABLE_SQL = "CREATE TABLE ticks (n int PRIMARY KEY, at timestamptz NOT NULL)"
WRITER_SQL = """DO $$ BEGIN FOR i IN 1..400 LOOP
  PERFORM pg_sleep(1.5 - (extract(epoch FROM clock_timestamp())::numeric % 1));
  INSERT INTO ticks VALUES (i, clock_timestamp()); COMMIT;
END LOOP; END $$;"""


@dataclass(frozen=True)
class Store:
    """The backup store outside the VM."""

    container: str
    endpoint: str  # gateway:port, as both the VM and this machine reach it
    access_key: str
    secret_key: str


def _must(result: subprocess.CompletedProcess[str], what: str) -> str:
    assert result.returncode == 0, (
        f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def _docker(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, check=False)


def _inv(sandbox: IsolatedSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv(*args, env=sandbox.overrides(), timeout=900)


def _gateway(container: str) -> str:
    """The VM container's default gateway: this machine, as seen from inside the VM."""
    fmt = "{{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}"
    gateway = _must(_docker("inspect", "--format", fmt, container), "docker inspect").split()
    assert gateway and gateway[0], f"no gateway for {container}"
    return gateway[0]


def _start_store(name: str, gateway: str) -> Store:
    [result] = build_standins(["objectstore"], stream=False)
    user, password = f"pitr{secrets.token_hex(6)}", secrets.token_hex(20)
    _docker("rm", "--force", "--volumes", name)
    _must(
        _docker(
            "run", "--detach", "--name", name,
            "--publish", f"{gateway}::9000",
            "--env", f"MINIO_ROOT_USER={user}", "--env", f"MINIO_ROOT_PASSWORD={password}",
            "--health-cmd", "mc ready local", "--health-interval", "1s",
            result.tag, "server", "/data",
        ),
        "starting the backup store",
    )  # fmt: skip
    health = "{{.State.Health.Status}}"
    wait_until(
        "the backup store",
        lambda: _docker("inspect", "--format", health, name).stdout.strip() == "healthy",
        60,
    )
    port = _must(_docker("port", name, "9000/tcp"), "docker port").split()[0].rsplit(":", 1)[1]
    store = Store(name, f"{gateway}:{port}", user, password)
    Minio(store.endpoint, access_key=user, secret_key=password, secure=False).make_bucket(BUCKET)
    return store


def _psql(sandbox: IsolatedSandbox, sql: str, *, detach: bool = False) -> str:
    """`psql` in the VM's db container (out of band: docker exec into the VM)."""
    values = dict(
        line.split("=", 1)
        for line in sandbox.env_file.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    )
    user = values.get("POSTGRES_USER") or BY_NAME["POSTGRES_USER"].default or "postgres"
    name = values.get("POSTGRES_DB") or BY_NAME["POSTGRES_DB"].default or user
    db = _must(
        _docker(
            "exec", sandbox.container, "docker", "ps", "--quiet",
            "--filter", "label=com.docker.compose.service=db",
        ),
        "finding the db container",
    ).split()  # fmt: skip
    assert len(db) == 1, db
    argv = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", name, "-c", sql]
    flags = ["--detach"] if detach else []
    return _must(_docker("exec", sandbox.container, "docker", "exec", *flags, db[0], *argv), "psql")


def _rows(sandbox: IsolatedSandbox) -> list[tuple[int, datetime]]:
    text = _psql(sandbox, "SELECT n, extract(epoch FROM at) FROM ticks ORDER BY n")
    pairs = (line.split("|") for line in text.splitlines() if line)
    return [(int(n), datetime.fromtimestamp(float(at), UTC)) for n, at in pairs]


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IsolatedSandbox]:
    """A sandbox VM of this module (destroyed and recreated by the test), and at the end
    neither it nor the store is left."""
    workdir: Path = tmp_path_factory.mktemp("pitr")
    sandbox = IsolatedSandbox(workdir, free_port(), free_port(), f"{CONTAINER}-pitr")
    store_name = (
        f"shipyard-pitr-store-{os.environ.get('SHIPYARD_TEST_SUFFIX', 'e2e')}-{os.getpid()}"
    )
    _inv(sandbox, "sandbox.down")
    try:
        _must(_inv(sandbox, "sandbox.up"), "inv sandbox.up")
        store = _start_store(store_name, _gateway(sandbox.container))
        set_values(
            sandbox.env_file,
            {
                "BACKUP_S3_ENDPOINT": store.endpoint,
                "BACKUP_S3_ACCESS_KEY": store.access_key,
                "BACKUP_S3_SECRET_KEY": store.secret_key,
                "BACKUP_S3_BUCKET": BUCKET,
                "BACKUP_S3_SECURE": "false",
            },
        )
        yield sandbox
    finally:
        _inv(sandbox, "sandbox.down")
        _docker("rm", "--force", "--volumes", store_name)


def test_a_destroyed_vm_is_recovered_to_latest_and_to_a_moment(vm: IsolatedSandbox) -> None:
    _must(_inv(vm, "deploy", "--env", "sandbox"), "inv deploy")
    _must(_inv(vm, "backup.base", "--env", "sandbox", "--type", "full"), "inv backup.base")
    _psql(vm, TABLE_SQL)
    _psql(vm, WRITER_SQL, detach=True)
    time.sleep(22)
    middle = datetime.now(UTC).replace(microsecond=0)
    time.sleep(70)  # past the next archive_timeout switch after the base backup
    written = _rows(vm)
    assert len(written) >= 80, len(written)

    stopped = datetime.now(UTC)  # the writer dies with the VM (docker rm --force)
    clock = time.monotonic()
    _must(_inv(vm, "sandbox.down"), "inv sandbox.down")
    _must(_inv(vm, "sandbox.up"), "inv sandbox.up (a fresh VM)")
    _must(_inv(vm, "deploy", "--env", "sandbox"), "inv deploy (the fresh VM)")
    print("window:", _must(_inv(vm, "backup.window", "--env", "sandbox"), "inv backup.window"))

    outside = _inv(
        vm, "restore", "--env", "sandbox", "--to-time", "2020-01-01 00:00:00+00", "--yes"
    )
    assert outside.returncode == 2, outside.stderr
    assert "outside the recoverable window" in outside.stderr
    assert len(outside.stderr.strip().splitlines()) <= 2, outside.stderr  # the line, its hint

    restoring = time.monotonic()
    _must(
        _inv(vm, "restore", "--env", "sandbox", "--to-time", "latest", "--yes"),
        "inv restore --to-time latest",
    )
    done = time.monotonic()
    print(
        f"restore --to-time latest: {done - restoring:.0f} s; VM destroyed to data back:"
        f" {done - clock:.0f} s"
    )
    latest = _rows(vm)
    assert latest, "no row was recovered"
    overlap = min(len(latest), len(written))
    assert latest[:overlap] == written[:overlap], "the recovered rows differ from those written"
    assert [n for n, _ in latest] == list(range(1, len(latest) + 1))
    lost = (stopped - latest[-1][1]).total_seconds()
    archive_timeout = int(BY_NAME["PG_ARCHIVE_TIMEOUT"].default or 60)
    print(
        f"writes lost with the VM: {lost:.1f} s (about {int(lost)} rows; last recovered row"
        f" {latest[-1][0]}, {len(written)} rows read before the VM was destroyed)"
    )
    assert lost <= archive_timeout, f"{lost:.1f} s of writes lost"

    _must(
        _inv(vm, "restore", "--env", "sandbox", "--to-time", middle.isoformat(sep=" "), "--yes"),
        "inv restore --to-time <middle>",
    )
    recovered = _rows(vm)
    assert recovered == [row for row in written if row[1] <= middle]
    assert middle - timedelta(seconds=1) <= recovered[-1][1] <= middle
