"""A throwaway PostgreSQL server: a container of the stack's own image on a random port.

Never a real environment's database. The container is labelled, published on 127.0.0.1
only, started with `--rm`, and removed when the context ends, whatever happened. Its
password is generated per run and reaches `docker run` through the environment, never
through the command line.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import URL

from shipyard.errors import CommandFailedError
from shipyard.masking import register
from shipyard.remote import LocalRunner, Runner

LABEL = "io.shipyard.purpose=migration-test"
USER = "shipyard"
DATABASE = "shipyard"
CONTAINER_PORT = "5432/tcp"
START_TIMEOUT_SECONDS = 90.0


@dataclass(frozen=True)
class ScratchServer:
    """A running scratch server: where it answers and how to reach one of its databases."""

    container: str
    host: str
    port: int
    password: str

    def url(self, database: str = DATABASE) -> URL:
        """The SQLAlchemy URL of `database` on this server (psycopg 3)."""
        return URL.create(
            "postgresql+psycopg",
            username=USER,
            password=self.password,
            host=self.host,
            port=self.port,
            database=database,
        )


def run_argv(image: str, name: str) -> list[str]:
    """`docker run` for the scratch server; the password comes from the environment."""
    return [
        "docker",
        "run",
        "--detach",
        "--rm",
        "--name",
        name,
        "--label",
        LABEL,
        "--publish",
        f"127.0.0.1::{CONTAINER_PORT.split('/')[0]}",
        "--env",
        "POSTGRES_PASSWORD",
        "--env",
        f"POSTGRES_USER={USER}",
        "--env",
        f"POSTGRES_DB={DATABASE}",
        "--tmpfs",
        "/var/lib/postgresql/data",
        image,
        # Durability is pointless for a database that lives a minute: make it fast.
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
    ]


def parse_port(output: str) -> tuple[str, int]:
    """Host and port from `docker port NAME 5432/tcp` (e.g. `127.0.0.1:49153`)."""
    for line in output.splitlines():
        host, _, port = line.strip().rpartition(":")
        if host == "127.0.0.1" and port.isdigit():
            return host, int(port)
    raise CommandFailedError(f"the scratch PostgreSQL is not published on 127.0.0.1: {output!r}")


@contextmanager
def scratch_postgres(image: str, runner: Runner | None = None) -> Iterator[ScratchServer]:
    """Start a throwaway PostgreSQL of `image`, wait until it accepts logins, remove it after."""
    runner = runner or LocalRunner()
    name = f"shipyard-migration-test-{uuid.uuid4().hex[:10]}"
    password = secrets.token_urlsafe(24)
    register(password)
    started = runner.run(run_argv(image, name), env={"POSTGRES_PASSWORD": password})
    try:
        started.raise_for_status(f"starting a scratch PostgreSQL from {image}")
        ports = runner.run(["docker", "port", name, CONTAINER_PORT])
        host, port = parse_port(ports.raise_for_status("docker port").stdout)
        server = ScratchServer(container=name, host=host, port=port, password=password)
        _wait_until_accepting(server, runner)
        yield server
    finally:
        runner.run(["docker", "rm", "--force", "--volumes", name])


def _wait_until_accepting(server: ScratchServer, runner: Runner) -> None:
    """Poll with real logins: the entrypoint's first server (initdb) is socket-only."""
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    last = ""
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(
                host=server.host,
                port=server.port,
                user=USER,
                password=server.password,
                dbname=DATABASE,
                connect_timeout=2,
            ):
                return
        except psycopg.OperationalError as exc:
            last = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        inspect = ["docker", "inspect", "--format", "{{.State.Running}}", server.container]
        state = runner.run(inspect)
        if state.stdout.strip() != "true":
            logs = runner.run(["docker", "logs", "--tail", "15", server.container])
            tail = (logs.stderr or logs.stdout)[-800:]
            raise CommandFailedError(f"the scratch PostgreSQL exited while starting: {tail}")
        time.sleep(0.3)
    raise CommandFailedError(
        f"the scratch PostgreSQL did not accept logins within {START_TIMEOUT_SECONDS:.0f} s: {last}"
    )
