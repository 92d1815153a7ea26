"""`inv backup` and `inv restore` from this workstation against the sandbox VM over SSH:
pg_dump runs in the VM's current release, the VM's object store is reached through an SSH
port forward, and the backups go to a real S3 server (moto) on this machine's 127.0.0.1.

If the VM has no release yet, this module deploys one and removes it (stack, volumes and
deploy path) at its end, so other modules find the VM as it was.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.deploy.context import Target
from shipyard.deploy.prune import current_release
from tests.e2e.deploy_support import deploy
from tests.e2e.support import IsolatedSandbox
from tests.integration.support import run_inv, s3_server

BACKUP_BUCKET = "sandbox-backups"
ENV_FILE_OVERRIDE = "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_ENV_FILE"


@pytest.fixture(scope="module")
def deployed(sandbox: IsolatedSandbox) -> Iterator[IsolatedSandbox]:
    """The sandbox with a current release (deployed here, and removed afterwards, if none)."""
    with sandbox.runner() as runner:
        already = current_release(Target(sandbox.environment(), runner)) is not None
    if not already:
        result = deploy(sandbox)
        assert result.returncode == 0, result.stderr
    yield sandbox
    if not already:
        env = sandbox.environment()
        with sandbox.runner() as runner:
            target = Target(env, runner)
            release = current_release(target)
            assert release is not None
            runner.run(target.project(release).down(volumes=True)).raise_for_status("down")
        cleanup = ["docker", "exec", sandbox.container, "rm", "-rf", str(env.deploy_path)]
        subprocess.run(cleanup, check=True, capture_output=True)


@pytest.fixture(scope="module")
def offsite(deployed: IsolatedSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """moto on 127.0.0.1 as the backup store, and the deployer's env file pointing at it."""
    with s3_server(BACKUP_BUCKET) as endpoint:
        env_file = tmp_path_factory.mktemp("offsite") / ".env.sandbox"
        env_file.write_text(
            deployed.env_file.read_text(encoding="utf-8")
            + f"BACKUP_S3_ENDPOINT={endpoint}\n"
            + f"BACKUP_S3_ACCESS_KEY=Ab1{secrets.token_hex(10)}\n"
            + f"BACKUP_S3_SECRET_KEY=Ab1{secrets.token_hex(20)}\n"
            + f"BACKUP_S3_BUCKET={BACKUP_BUCKET}\nBACKUP_S3_PREFIX=e2e\n",
            encoding="utf-8",
        )
        env_file.chmod(0o600)
        yield {**deployed.overrides(), ENV_FILE_OVERRIDE: str(env_file)}


def _inv(overrides: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return run_inv(*args, "--env", "sandbox", env=overrides, timeout=600)


def test_forward_local_reaches_a_port_on_the_vm(sandbox: IsolatedSandbox) -> None:
    with sandbox.runner() as runner, runner.forward_local(22) as port:
        banners = []
        for _ in range(2):  # each connection gets its own channel
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                banners.append(conn.recv(64))
    assert all(banner.startswith(b"SSH-2.0-") for banner in banners), banners


def test_backup_from_the_workstation_restores_a_deleted_document(
    deployed: IsolatedSandbox, offsite: dict
) -> None:
    url = deployed.public_url
    content = secrets.token_bytes(300_000)
    created = httpx.post(
        f"{url}/documents", params={"title": "backed up over ssh"}, content=content, timeout=30
    )
    assert created.status_code == 201, created.text
    document = created.json()
    assert document["sha256"] == hashlib.sha256(content).hexdigest()

    backup = _inv(offsite, "backup", "--json")
    assert backup.returncode == 0, backup.stderr
    manifest = json.loads(backup.stdout)["backup"]
    assert manifest["objects"]["count"] >= 1 and manifest["database"]["dump_bytes"] > 0
    env_text = Path(offsite[ENV_FILE_OVERRIDE]).read_text(encoding="utf-8")
    secret_values = [
        line.split("=", 1)[1]
        for line in env_text.splitlines()
        if "=" in line and ("SECRET" in line or "PASSWORD" in line)
    ]
    leaked = [v for v in secret_values if v and (v in backup.stdout or v in backup.stderr)]
    assert leaked == [], "a secret was printed"

    listed = _inv(offsite, "backup.list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [b["id"] for b in json.loads(listed.stdout)["backups"]][-1] == manifest["id"]

    deleted = httpx.delete(f"{url}/documents/{document['id']}", timeout=30)
    assert deleted.status_code == 204
    assert httpx.get(f"{url}/documents/{document['id']}", timeout=30).status_code == 404

    restored = _inv(offsite, "restore", "--backup", "latest", "--yes", "--json")
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)  # stdout is the one JSON document
    assert report["id"] == manifest["id"] and report["safety_backup"] != manifest["id"]

    back = httpx.get(f"{url}/documents/{document['id']}/content", timeout=30)
    assert back.status_code == 200
    assert hashlib.sha256(back.content).hexdigest() == document["sha256"]
    meta = httpx.get(f"{url}/documents/{document['id']}", timeout=30).json()
    assert meta["sha256"] == document["sha256"] and meta["title"] == "backed up over ssh"
