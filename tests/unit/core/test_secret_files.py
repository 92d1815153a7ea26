"""Which secret goes to which container as which file, owned by whom; the login check's
verdicts; the release bundle's secret files."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile

import yaml

from shipyard import dblogin, secretfiles
from shipyard.config import PROJECT_ROOT, load_config
from shipyard.deploy import bundle
from shipyard.envfile.schema import BY_NAME

COMPOSE = yaml.safe_load((PROJECT_ROOT / "compose" / "compose.yaml").read_text())
VALUES = {
    "POSTGRES_PASSWORD": "pg-Pass-0123456789",
    "S3_ACCESS_KEY": "AKIA0123456789ABCDEF",
    "S3_SECRET_KEY": "s3-Secret-0123456789abcdefghijklmnop",
}


def test_compose_mounts_exactly_the_secret_files_and_no_secret_is_an_environment_variable():
    declared = {
        name: spec["file"]
        for name, spec in COMPOSE["secrets"].items()
        if name != "pip_ca"  # the build-time CA bundle
    }
    default = "${SHIPYARD_SECRETS_DIR:-../.shipyard/secrets}"
    data = "${SHIPYARD_DATA_SECRETS_DIR:-" + default + "}"
    assert declared == {
        s.compose_secret: f"{data if s.service in secretfiles.DATA_SERVICES else default}/{s.path}"
        for s in secretfiles.SECRET_FILES
    }
    for service, spec in COMPOSE["services"].items():
        mounted = {(m["source"], m["target"]) for m in spec.get("secrets", [])}
        expected = {
            (s.compose_secret, s.name) for s in secretfiles.SECRET_FILES if s.service == service
        }
        assert mounted == expected, service
        environment = " ".join(f"{k}={v}" for k, v in spec.get("environment", {}).items())
        for name, variable in BY_NAME.items():
            if variable.is_secret:
                assert f"${{{name}" not in environment, (service, name)


def test_every_secret_the_containers_need_is_a_declared_secret():
    for secret in secretfiles.SECRET_FILES:
        assert BY_NAME[secret.variable].is_secret
        assert secret.uid == secretfiles.SERVICE_USERS[secret.service]
    users = {name: spec.get("user") for name, spec in COMPOSE["services"].items()}
    assert users["app"] == "10001:10001" and users["db"] == "999:999"


def test_local_files_are_the_services_own_and_move_when_a_value_changes(tmp_path):
    root = tmp_path / "secrets"
    first = secretfiles.write_local(root, VALUES)
    assert secretfiles.write_local(root, VALUES) == first
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for secret in secretfiles.SECRET_FILES:
        path = first / secret.path
        assert path.read_text() == VALUES[secret.variable]
        info = path.stat()
        if os.geteuid() == 0:
            assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (secret.uid, 0o400)
        else:
            assert stat.S_IMODE(info.st_mode) == 0o444
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    second = secretfiles.write_local(root, {**VALUES, "POSTGRES_PASSWORD": "other-Pass-0123456"})
    assert second != first and first.is_dir()
    secretfiles.prune_local(root, second)
    assert sorted(root.iterdir()) == [second]


def test_the_vm_gives_each_file_to_its_service_without_network():
    argv = secretfiles.own_argv("/srv/d/releases/r1/secrets", "/srv/d/shared", "docstore-app:1")
    assert argv[:13] == [
        "docker", "run", "--rm", "--network", "none", "--user", "0:0",
        "--entrypoint", "sh", "--volume", "/srv/d/releases/r1/secrets:/secrets",
        "--volume", "/srv/d/shared:/shared",
    ]  # fmt: skip
    assert argv[13:15] == ["docstore-app:1", "-c"]
    script = argv[15]
    assert "chown 10001:10001 /secrets/app/postgres_password" in script
    assert "chown 999:999 /secrets/db/postgres_password" in script
    assert "chmod 400 /secrets/*/*" in script
    assert "chown 999:999 /secrets/pgbackrest/pgbackrest.conf" in script
    assert not any(value in " ".join(argv) for value in VALUES.values())


def test_the_vm_keeps_the_data_services_files_and_refreshes_pgbackrests(tmp_path):
    """The script run by sh against real directories standing for /secrets and /shared:
    db and objectstore keep the files they started with (copied once); pgBackRest's follow
    every release, written in place (same inode: the db container's bind mount sees them)."""
    release, shared = tmp_path / "release", tmp_path / "shared"
    for secret in (*secretfiles.SECRET_FILES, *secretfiles.PITR_FILES):
        (release / secret.service).mkdir(parents=True, exist_ok=True)
        (release / secret.path).write_text(f"new {secret.name}")
    for service, name in (("db", "postgres_password"), ("pgbackrest", "pgbackrest.conf")):
        (shared / "secrets" / service).mkdir(parents=True)
        (shared / "secrets" / service / name).write_text(f"old {name}")
    conf = shared / "secrets/pgbackrest/pgbackrest.conf"
    inode = conf.stat().st_ino
    argv = secretfiles.own_argv(str(release), str(shared), "image")
    script = argv[argv.index("-c") + 1]
    script = script.replace("/secrets", str(release)).replace("/shared", str(shared))
    script = script.replace(f"{shared}{release}", f"{shared}/secrets")
    script = script.replace("chown ", ": chown ")  # owners are asserted above; any user runs this
    subprocess.run(["sh", "-c", script], check=True)
    assert (shared / "secrets/db/postgres_password").read_text() == "old postgres_password"
    assert (shared / "secrets/objectstore/s3_access_key").read_text() == "new s3_access_key"
    assert conf.read_text() == "new pgbackrest.conf" and conf.stat().st_ino == inode


def test_the_bundle_carries_the_secret_files_private():
    env = load_config().environment("sandbox")
    facts = bundle.ReleaseFacts("r1", "sandbox", "0.2.0", "abc", "a:1", "sha256:1")
    env_text = "".join(f"{name}={value}\n" for name, value in VALUES.items())
    files = bundle.bundle_files(env, facts, env_text, {"APP_IMAGE": "a:1"})
    with tarfile.open(fileobj=io.BytesIO(bundle.pack(files))) as tar:
        members = {member.name: member for member in tar.getmembers()}
        for secret in secretfiles.SECRET_FILES:
            member = members[f"secrets/{secret.path}"]
            assert member.mode == 0o600
            assert tar.extractfile(member).read().decode() == VALUES[secret.variable]
        assert members["secrets"].mode == members["secrets/app"].mode == 0o700
        assert members["compose"].mode == 0o755


def test_login_verdicts_come_from_postgres_own_words():
    assert dblogin.judge(0, "1\n", "").verdict is dblogin.Verdict.OPENS
    wrong = dblogin.judge(
        2,
        "",
        'psql: error: connection to server at "db" (172.18.0.2), port 5432 failed: '
        'FATAL:  password authentication failed for user "docstore"\n',
    )
    assert wrong == dblogin.LoginResult(
        dblogin.Verdict.WRONG_PASSWORD, 'password authentication failed for user "docstore"'
    )
    missing = dblogin.judge(2, "", 'psql: error: ... FATAL:  database "x" does not exist\n')
    assert missing.verdict is dblogin.Verdict.NO_DATABASE
    refused = dblogin.judge(2, "", "psql: error: connection refused\n")
    assert refused == dblogin.LoginResult(
        dblogin.Verdict.UNKNOWN, "psql: error: connection refused"
    )
    assert dblogin.login_command("u", "d")[-2:] == ["u", "d"]
