"""A stack of the backup suite's own (`inv setup`), a real S3 server (moto) on 127.0.0.1 as
the remote backup store, and helpers to capture the exact state of the data."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from minio import Minio

from shipyard.envfile.init import new_env_text
from tests.integration.support import (
    IsolatedLocal,
    free_port,
    logical_only_config,
    run_inv,
    s3_server,
    test_project,
)

BACKUP_BUCKET = "offsite-backups"


@dataclass(frozen=True)
class LogicalOnlyLocal(IsolatedLocal):
    """The isolated local stack with WAL archiving off (an Invoke runtime config file)."""

    runtime_config: Path = Path()

    def overrides(self) -> dict[str, str]:
        return {**super().overrides(), "INVOKE_RUNTIME_CONFIG": str(self.runtime_config)}


TABLE_STATE_SQL = """
SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1
"""


def strong_secret(length: int = 40) -> str:
    """A random value that passes the env-file secret rules."""
    return "Ab1" + secrets.token_urlsafe(length)[: length - 3]


@dataclass
class BackupStack:
    """The suite's stack, its env file, and the moto server standing in for remote S3."""

    isolated: IsolatedLocal
    env_file: Path
    values: dict[str, str]
    s3_endpoint: str
    tmp: Path
    ops_endpoint: str = ""
    variants: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Where nginx answers."""
        return self.isolated.public_url

    def inv(
        self,
        *args: str,
        env_file: Path | None = None,
        timeout: float = 900,
        config: dict[str, str] | None = None,
    ):
        """`inv ARGS` against this stack (optionally with another env file, and `config`:
        more INVOKE_* variables)."""
        overrides = self.isolated.overrides() | (config or {})
        if env_file is not None:
            overrides["INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_ENV_FILE"] = str(env_file)
        return run_inv(*args, env=overrides, timeout=timeout)

    def popen_inv(
        self, *args: str, env_file: Path | None = None, config: dict[str, str] | None = None
    ) -> subprocess.Popen[str]:
        """`inv ARGS` in the background, in its own process group."""
        import os

        from tests.integration.support import INV

        overrides = self.isolated.overrides() | (config or {})
        if env_file is not None:
            overrides["INVOKE_SHIPYARD_ENVIRONMENTS_LOCAL_ENV_FILE"] = str(env_file)
        return subprocess.Popen(
            [INV, *args],
            cwd=Path(__file__).resolve().parents[3],
            env={**os.environ, **overrides},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def variant(self, name: str, **changes: str) -> Path:
        """A copy of the env file with some lines changed (same stack, other settings)."""
        lines = [
            line
            for line in self.env_file.read_text(encoding="utf-8").splitlines()
            if line.split("=", 1)[0] not in changes
        ]
        lines += [f"{key}={value}" for key, value in changes.items() if value != ""]
        path = self.tmp / f"{name}.env"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)
        return path

    def compose(self, *args: str, input: str | None = None) -> str:
        """A `docker compose` command of this stack; its stdout."""
        argv = [
            "docker",
            "compose",
            "--project-name",
            self.isolated.project,
            "--env-file",
            str(self.env_file),
            "--file",
            "compose/compose.yaml",
            "--file",
            "compose/compose.local.yaml",
            *args,
        ]
        result = subprocess.run(
            argv,
            cwd=Path(__file__).resolve().parents[3],
            input=input,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def sql(self, sql: str, database: str | None = None) -> list[str]:
        """Rows of one statement, run inside the db container."""
        db = database or self.values["POSTGRES_DB"]
        out = self.compose(
            "exec",
            "-T",
            "db",
            "psql",
            "-U",
            self.values["POSTGRES_USER"],
            "-d",
            db,
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        )
        return [line for line in out.splitlines() if line]

    def app_bucket(self) -> Minio:
        """The app's bucket through the object store's loopback port."""
        return Minio(
            self.ops_endpoint,
            access_key=self.values["S3_ACCESS_KEY"],
            secret_key=self.values["S3_SECRET_KEY"],
            secure=False,
        )

    def backup_store(self) -> Minio:
        """The remote backup store (moto)."""
        return Minio(self.s3_endpoint, access_key="x" * 20, secret_key="y" * 40, secure=False)

    def state(self) -> dict:
        """Row count and checksum of every table, and the sha256 of every object."""
        tables = {}
        for table in self.sql(TABLE_STATE_SQL):
            count = self.sql(f"SELECT count(*) FROM {table}")[0]  # noqa: S608 - catalog names
            checksum = "coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
            digest = self.sql(f"SELECT {checksum} FROM {table} t")  # noqa: S608 - catalog names
            tables[table] = (int(count), digest[0] if digest else "")
        client = self.app_bucket()
        bucket = self.values.get("S3_BUCKET") or "documents"
        objects = {}
        for item in client.list_objects(bucket, recursive=True):
            response = client.get_object(bucket, item.object_name)
            try:
                objects[item.object_name] = hashlib.sha256(response.read()).hexdigest()
            finally:
                response.close()
                response.release_conn()
        return {"tables": tables, "objects": objects}

    def add_document(self, title: str, content: bytes) -> str:
        """Upload a document through the public URL; its id."""
        response = httpx.post(
            f"{self.url}/documents",
            params={"title": title},
            content=content,
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def backup_keys(self, prefix: str = "") -> list[str]:
        """Every key in the backup store under `prefix`."""
        client = self.backup_store()
        return [
            item.object_name
            for item in client.list_objects(BACKUP_BUCKET, prefix=prefix, recursive=True)
        ]


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """A real S3 API (moto server) on 127.0.0.1: the remote backup store."""
    with s3_server(BACKUP_BUCKET) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def backup_stack(tmp_path_factory: pytest.TempPathFactory, moto_s3: str) -> Iterator[BackupStack]:
    """`inv setup` of the suite's own stack, its env file pointing backups at moto."""
    from shipyard.envfile.load import read_env_file

    tmp = tmp_path_factory.mktemp("backup")
    env_file = tmp / ".env"
    runtime_config = logical_only_config("local", tmp)
    isolated = LogicalOnlyLocal(
        project=test_project("docstore-backup-it"),
        env_file=env_file,
        port=free_port(),
        runtime_config=runtime_config,
    )
    text = new_env_text("local", public_url=isolated.public_url)
    text += (
        f"BACKUP_S3_ENDPOINT={moto_s3}\n"
        f"BACKUP_S3_ACCESS_KEY={strong_secret(20)}\n"
        f"BACKUP_S3_SECRET_KEY={strong_secret(40)}\n"
        f"BACKUP_S3_BUCKET={BACKUP_BUCKET}\n"
        "BACKUP_S3_PREFIX=it\n"
    )
    env_file.write_text(text, encoding="utf-8")
    env_file.chmod(0o600)
    result = isolated.setup()
    assert result.returncode == 0, f"inv setup failed:\n{result.stdout}\n{result.stderr}"
    stack = BackupStack(isolated, env_file, read_env_file(env_file), moto_s3, tmp)
    stack.ops_endpoint = stack.compose("port", "objectstore", "9000").strip()
    yield stack
    down = run_inv("down", "--volumes", "--yes", env=isolated.overrides())
    assert down.returncode == 0, down.stderr


@pytest.fixture
def bulk_table(backup_stack: BackupStack) -> Iterator[str]:
    """A table big enough (about 100 MB of dump) that a backup can be interrupted mid-way;
    dropped afterwards."""
    backup_stack.sql(
        "CREATE TABLE bulk (id int PRIMARY KEY, payload text);"
        " INSERT INTO bulk SELECT g, string_agg(md5(random()::text || g || x), '')"
        " FROM generate_series(1, 500000) g, generate_series(1, 6) x GROUP BY g"
    )
    yield "public.bulk"
    backup_stack.sql("DROP TABLE IF EXISTS bulk")


@pytest.fixture
def in_stack(backup_stack: BackupStack) -> Path:
    """An env file whose backups go to the stack's own object store (local's default)."""
    return backup_stack.variant(
        "in-stack",
        BACKUP_S3_ENDPOINT="",
        BACKUP_S3_ACCESS_KEY="",
        BACKUP_S3_SECRET_KEY="",
        BACKUP_S3_BUCKET="",
    )


def wait_for_stderr(process: subprocess.Popen[str], text: str, timeout: float) -> str:
    """Read a background `inv`'s stderr until `text` shows up; what was read."""
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline() if process.stderr else ""
        if not line:
            break
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never appeared; stderr so far:\n{seen}")
