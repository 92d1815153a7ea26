"""shipyard-local/postgres:15 honours postgres:16's interface as the stack uses it."""

from __future__ import annotations

import lzma

import pytest

from tests.integration.images.support import Container, Sandbox, docker, wait_until

pytestmark = pytest.mark.integration

USER, PASSWORD, DB = "docstore", "s3cret-pass word", "docstore"
HARDENING = ["--security-opt", "no-new-privileges:true"]


def ready_over_tcp(container: Container) -> bool:
    probe = container.exec("pg_isready", "-h", "127.0.0.1", "-U", USER, "-d", DB, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def network(sandbox: Sandbox) -> str:
    return sandbox.network()


@pytest.fixture(scope="module")
def started_as_root(standins, sandbox: Sandbox, network, tmp_path_factory) -> Container:
    """Started as root (the image's default), with init scripts and a `-c` option."""
    initdb = tmp_path_factory.mktemp("initdb")
    (initdb / "01-schema.sql").write_text(
        "CREATE TABLE notes (id int PRIMARY KEY, body text);\n"
        "INSERT INTO notes VALUES (1, 'from sql');\n"
    )
    (initdb / "02-more.sh").write_text(
        'psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" '
        "-c \"INSERT INTO notes VALUES (2, 'from sh')\"\n"
    )
    (initdb / "03-compressed.sql.xz").write_bytes(
        lzma.compress(b"INSERT INTO notes VALUES (3, 'from xz');\n")
    )
    for path in initdb.iterdir():
        path.chmod(0o644)
    initdb.chmod(0o755)
    container = sandbox.start(
        standins["postgres"],
        "postgres",
        "-c",
        "max_connections=42",
        options=[
            "--network", network, "--network-alias", "db",
            "-e", f"POSTGRES_USER={USER}",
            "-e", f"POSTGRES_PASSWORD={PASSWORD}",
            "-e", f"POSTGRES_DB={DB}",
            "-v", f"{sandbox.volume()}:/var/lib/postgresql/data",
            "-v", f"{initdb}:/docker-entrypoint-initdb.d:ro",
            *HARDENING,
        ],
    )  # fmt: skip
    wait_until("postgres to accept TCP connections", lambda: ready_over_tcp(container), 90)
    return container


def psql_from_another_container(standins, sandbox, network, password, sql):
    return sandbox.run(
        standins["postgres"],
        "psql", "-h", "db", "-U", USER, "-d", DB, "-tAX", "-v", "ON_ERROR_STOP=1", "-c", sql,
        options=["--network", network, "-e", f"PGPASSWORD={password}"],
        check=False,
    )  # fmt: skip


def test_password_login_over_tcp_from_another_container(
    standins, sandbox, network, started_as_root
):
    result = psql_from_another_container(
        standins, sandbox, network, PASSWORD,
        "SELECT current_user, current_database(), inet_server_addr() IS NOT NULL, "
        "(SELECT string_agg(body, ',' ORDER BY id) FROM notes)",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{USER}|{DB}|t|from sql,from sh,from xz"


def test_a_wrong_password_is_refused_and_passwords_are_scram(
    standins, sandbox, network, started_as_root
):
    result = psql_from_another_container(standins, sandbox, network, "wrong", "SELECT 1")
    assert result.returncode != 0
    assert f'password authentication failed for user "{USER}"' in result.stderr
    hba = started_as_root.exec("sh", "-c", 'grep -v "^#" "$PGDATA/pg_hba.conf"').stdout
    assert "host all all all scram-sha-256" in hba
    stored = started_as_root.exec(
        "psql", "-U", USER, "-d", DB, "-tAc",
        "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = current_user",
    ).stdout  # fmt: skip
    assert stored.strip() == "t"


def test_runs_as_uid_999_and_takes_command_options(started_as_root):
    assert started_as_root.uids() == {999}
    owner = started_as_root.exec("stat", "-c", "%u:%g %a", "/var/lib/postgresql/data").stdout
    assert owner.strip() == "999:999 700"
    settings = started_as_root.exec(
        "psql", "-U", USER, "-d", DB, "-tAc",
        "SELECT current_setting('max_connections') || ' ' || current_setting('listen_addresses')",
    ).stdout  # fmt: skip
    assert settings.strip() == "42 *"
    tools = started_as_root.exec(
        "sh", "-c", "for t in pg_isready psql pg_dump pg_restore; do command -v $t; done"
    )
    assert len(tools.stdout.split()) == 4
    identity = started_as_root.exec("id", "postgres").stdout
    assert identity.startswith("uid=999(postgres) gid=999(postgres)")


def test_docker_stop_is_a_fast_clean_shutdown_even_with_a_client_connected(
    standins, sandbox, network, started_as_root
):
    # An idle session would hold a "smart" shutdown until docker's timeout kills it.
    sandbox.start(
        standins["postgres"],
        "psql", "-h", "db", "-U", USER, "-d", DB, "-c", "SELECT pg_sleep(120)",
        options=["--network", network, "-e", f"PGPASSWORD={PASSWORD}"],
    )  # fmt: skip
    wait_until(
        "the client session",
        lambda: started_as_root.exec(
            "psql", "-U", USER, "-d", DB, "-tAc",
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' "
            "AND pid <> pg_backend_pid()",
        ).stdout.strip() == "1",
        30,
    )  # fmt: skip
    docker("stop", "--time", "20", started_as_root.name)
    state = started_as_root.inspect()["State"]
    assert state["ExitCode"] == 0
    _, err = started_as_root.logs()
    assert "received fast shutdown request" in err
    assert "database system is shut down" in err


def test_user_999_with_a_fresh_volume_and_a_password_file(standins, sandbox, tmp_path):
    secret = tmp_path / "db-password"
    secret.write_text("from-a-file\n")
    secret.chmod(0o644)
    options = [
        "--user", "999:999",
        "-e", f"POSTGRES_USER={USER}",
        "-e", "POSTGRES_PASSWORD_FILE=/run/secrets/db-password",
        "-e", f"POSTGRES_DB={DB}",
        "-v", f"{secret}:/run/secrets/db-password:ro",
        "-v", f"{sandbox.volume()}:/var/lib/postgresql/data",
        *HARDENING,
    ]  # fmt: skip
    container = sandbox.start(standins["postgres"], options=options)
    wait_until("postgres as 999:999", lambda: ready_over_tcp(container), 90)
    assert container.uids() == {999}
    login = container.exec(
        "env", "PGPASSWORD=from-a-file",
        "psql", "-h", "127.0.0.1", "-U", USER, "-d", DB, "-tAc", "SELECT 7",
    )  # fmt: skip
    assert login.stdout.strip() == "7"
    docker("restart", "--time", "20", container.name)
    wait_until("postgres after a restart", lambda: ready_over_tcp(container), 60)
    out, _ = container.logs()
    assert "Skipping initialization" in out
