"""Secrets on the sandbox VM, as a new user meets them: after a deploy no secret is in
`docker inspect` of any container, in the VM's process list, or in the release directory
outside private files; a release whose database password does not open the database is
refused before any app container starts; `inv secrets.rotate` changes the password, and
the object store's key pair, under load without a failed request."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from shipyard.envfile.load import read_env_file
from shipyard.envfile.schema import BY_NAME
from shipyard.envfile.secrets import generate
from tests.e2e.deploy_support import Poller, deploy, on_vm
from tests.e2e.support import IsolatedSandbox
from tests.integration.support import run_inv

ROOT = "/srv/docstore"
SECRETS = ("POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY")
ENV_FILE_OVERRIDE = "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_ENV_FILE"


def as_root(sandbox: IsolatedSandbox, script: str) -> str:
    """A shell script run as root on the VM (out of band), its stdout."""
    import subprocess

    result = subprocess.run(
        ["docker", "exec", sandbox.container, "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def app_containers_ever(sandbox: IsolatedSandbox) -> list[str]:
    """Every app container on the VM, running or not."""
    argv = ["docker", "ps", "--all", "--filter", "label=com.docker.compose.service=app"]
    return sorted(on_vm(sandbox, *argv, "--format", "{{.ID}}").stdout.split())


@dataclass
class DocumentsPoller:
    """GETs /documents (a database query per request), or another `path`, through nginx
    until stopped."""

    url: str
    path: str = "/documents"
    statuses: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> DocumentsPoller:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        deadline = time.monotonic() + 300
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    self.statuses.append(client.get(f"{self.url}{self.path}").status_code)
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))
                time.sleep(0.05)

    @property
    def failed(self) -> list[str]:
        return self.errors + [str(code) for code in self.statuses if code != 200]


@pytest.fixture(scope="module")
def deployed(sandbox: IsolatedSandbox) -> Iterator[IsolatedSandbox]:
    """The checkout deployed to the session's VM."""
    result = deploy(sandbox)
    assert result.returncode == 0, result.stderr
    yield sandbox


def test_no_secret_in_docker_inspect_processes_or_public_files(deployed: IsolatedSandbox):
    values = read_env_file(deployed.env_file)
    secrets = [values[name] for name in SECRETS]
    containers = on_vm(deployed, "docker", "ps", "--all", "--quiet").stdout.split()
    assert len(containers) >= 4
    inspected = on_vm(deployed, "docker", "inspect", *containers).stdout
    processes = as_root(deployed, "ps -eo args")
    assert "gunicorn" in processes and "postgres" in processes
    for name, value in zip(SECRETS, secrets, strict=True):
        assert value not in inspected, f"{name} is in docker inspect"
        assert value not in processes, f"{name} is in the VM's process list"
    holders = as_root(
        deployed,
        "cd /srv/docstore && for v in " + " ".join(f"'{v}'" for v in secrets) + "; do "
        'grep -rlF -- "$v" releases shared || true; done | sort -u | '
        "while read -r f; do stat -c '%a %U %n' \"$f\"; done",
    )
    files = [line.split(" ", 2) for line in holders.splitlines()]
    assert files, "no file holds the secrets at all"
    for mode, owner, name in files:
        assert mode in ("600", "400"), f"{name} is mode {mode}"
        assert (mode, owner) == ("600", "deploy") or re.search(r"/secrets/\w+/[\w.]+$", name)
    # The data services, never recreated by a deploy, mount files that outlive releases.
    db = on_vm(deployed, "docker", "ps", "--quiet", "--filter", "name=docstore-db-1").stdout
    sources = on_vm(
        deployed, "docker", "inspect", "--format", "{{range .Mounts}}{{.Source}} {{end}}",
        db.strip(),
    ).stdout.split()  # fmt: skip
    assert f"{ROOT}/shared/secrets/db/postgres_password" in sources
    shared = as_root(deployed, f"stat -c '%u %a %n' {ROOT}/shared/secrets/*/*")
    assert sorted(shared.splitlines()) == [
        f"1000 400 {ROOT}/shared/secrets/objectstore/s3_access_key",
        f"1000 400 {ROOT}/shared/secrets/objectstore/s3_secret_key",
        f"999 400 {ROOT}/shared/secrets/db/postgres_password",
        f"999 400 {ROOT}/shared/secrets/pgbackrest/pgbackrest.conf",
        f"999 400 {ROOT}/shared/secrets/pgbackrest/relay",
    ]
    release = as_root(deployed, "readlink /srv/docstore/current").strip()
    owners = as_root(deployed, f"stat -c '%u %a %n' /srv/docstore/{release}/secrets/*/*")
    assert sorted(owners.splitlines()) == sorted(
        f"{uid} 400 /srv/docstore/{release}/secrets/{path}"
        for uid, path in [
            (10001, "app/postgres_password"),
            (10001, "app/s3_access_key"),
            (10001, "app/s3_secret_key"),
            (999, "db/postgres_password"),
            (1000, "objectstore/s3_access_key"),
            (1000, "objectstore/s3_secret_key"),
            (999, "pgbackrest/pgbackrest.conf"),
            (999, "pgbackrest/relay"),
        ]
    )


def test_a_release_with_a_wrong_password_is_refused_before_its_app_starts(
    deployed: IsolatedSandbox, tmp_path: Path
):
    text = deployed.env_file.read_text(encoding="utf-8")
    wrong = generate(BY_NAME["POSTGRES_PASSWORD"])
    wrong_file = tmp_path / ".env.sandbox"
    wrong_file.write_text(
        re.sub(r"(?m)^POSTGRES_PASSWORD=.*$", f"POSTGRES_PASSWORD={wrong}", text),
        encoding="utf-8",
    )
    wrong_file.chmod(0o600)
    before = app_containers_ever(deployed)
    releases_before = on_vm(deployed, "ls", f"{ROOT}/releases").stdout.split()
    started = time.monotonic()
    result = run_inv(
        "deploy",
        "--env",
        "sandbox",
        env={**deployed.overrides(), ENV_FILE_OVERRIDE: str(wrong_file)},
    )
    seconds = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert "refused before any app container started" in errors[0]
    assert 'password authentication failed for user "docstore"' in errors[0]
    assert wrong not in result.stderr + result.stdout
    assert app_containers_ever(deployed) == before, "an app container was started"
    assert on_vm(deployed, "ls", f"{ROOT}/releases").stdout.split() == releases_before
    assert seconds < 120, f"refused only after {seconds:.0f} s"


def test_rotate_changes_the_password_under_load_without_a_failed_request(
    deployed: IsolatedSandbox,
):
    old = read_env_file(deployed.env_file)["POSTGRES_PASSWORD"]
    with Poller(deployed.public_url) as poller, DocumentsPoller(deployed.public_url) as docs:
        result = run_inv(
            "secrets.rotate", "--env", "sandbox", "--name", "POSTGRES_PASSWORD",
            env=deployed.overrides(),
        )  # fmt: skip
        time.sleep(1)
    assert result.returncode == 0, result.stderr
    assert "rotated POSTGRES_PASSWORD of sandbox" in result.stdout + result.stderr
    new = read_env_file(deployed.env_file)["POSTGRES_PASSWORD"]
    assert new != old
    assert old not in result.stdout + result.stderr and new not in result.stdout + result.stderr
    poller.assert_none_failed()
    assert docs.failed == [], f"failed requests: {docs.failed[:5]}"
    assert len(poller.statuses) > 50 and len(docs.statuses) > 50
    assert oct(deployed.env_file.stat().st_mode & 0o777) == "0o600"
    # The database now takes the new password only, and a later deploy just works.
    again = deploy(deployed)
    assert again.returncode == 0, again.stderr


def store_accepts(sandbox: IsolatedSandbox, access_key: str, secret_key: str) -> bool:
    """Whether the VM's object store accepts the key (a SigV4 request made inside its
    container by the stand-in's `objectstore-keys check`; the key on standard input)."""
    import subprocess

    name = on_vm(sandbox, "docker", "ps", "--quiet", "--filter", "name=docstore-objectstore-1")
    result = subprocess.run(
        ["docker", "exec", "-i", "--user", "deploy", sandbox.container, "docker", "exec",
         "-i", name.stdout.strip(), "objectstore-keys", "check"],
        input=f"{access_key}\n{secret_key}\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


def test_rotate_changes_the_store_key_under_load_without_a_failed_request(
    deployed: IsolatedSandbox,
):
    old = read_env_file(deployed.env_file)
    created = httpx.post(
        f"{deployed.public_url}/documents", params={"title": "kept"}, content=b"x" * 5000
    )
    assert created.status_code == 201, created.text
    content = f"/documents/{created.json()['id']}/content"  # a signed S3 GET per request
    with (
        Poller(deployed.public_url) as poller,
        DocumentsPoller(deployed.public_url, content) as downloads,
    ):
        result = run_inv(
            "secrets.rotate", "--env", "sandbox", "--name", "S3_SECRET_KEY",
            env=deployed.overrides(),
        )  # fmt: skip
        time.sleep(1)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "rotated S3_SECRET_KEY of sandbox" in output
    new = read_env_file(deployed.env_file)
    for name in ("S3_ACCESS_KEY", "S3_SECRET_KEY"):
        assert new[name] != old[name]
        assert old[name] not in output and new[name] not in output
    poller.assert_none_failed()
    assert downloads.failed == [], f"failed downloads: {downloads.failed[:5]}"
    assert len(poller.statuses) > 50 and len(downloads.statuses) > 50
    assert not store_accepts(deployed, old["S3_ACCESS_KEY"], old["S3_SECRET_KEY"])
    assert store_accepts(deployed, new["S3_ACCESS_KEY"], new["S3_SECRET_KEY"])
    # The store's own key files (its next start) hold the new key, privately.
    files = as_root(
        deployed,
        f"cd {ROOT}/shared/secrets/objectstore && stat -c '%u %a %n' * && cat s3_access_key",
    )
    assert files.splitlines() == [
        "1000 400 s3_access_key", "1000 400 s3_secret_key", new["S3_ACCESS_KEY"],
    ]  # fmt: skip
    inspected = on_vm(deployed, "sh", "-c", "docker inspect $(docker ps -aq)").stdout
    assert new["S3_SECRET_KEY"] not in inspected and new["S3_ACCESS_KEY"] not in inspected
