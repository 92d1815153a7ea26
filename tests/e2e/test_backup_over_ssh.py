"""`inv backup` and `inv restore` from this workstation against the sandbox VM over SSH:
pg_dump runs in the VM's current release, the VM's object store is reached through an SSH
port forward, and the backups go to a real S3 server (moto) on this machine's 127.0.0.1.
The VM cannot reach that store, so the offsite runs leave WAL archiving off
(`logical_only_config`); tests/e2e/test_pitr_sandbox.py archives to a store the VM reaches.

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

from shipyard.vm.releases import current_release, release_names
from shipyard.vm.target import Target
from tests.e2e.deploy_support import deploy, undeploy
from tests.e2e.support import IsolatedSandbox
from tests.integration.support import logical_only_config, run_inv, s3_server

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
        undeploy(sandbox)


@pytest.fixture(scope="module")
def offsite(deployed: IsolatedSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """moto on 127.0.0.1 as the backup store, and the deployer's env file pointing at it."""
    with s3_server(BACKUP_BUCKET) as endpoint:
        scratch = tmp_path_factory.mktemp("offsite")
        env_file = scratch / ".env.sandbox"
        env_file.write_text(
            deployed.env_file.read_text(encoding="utf-8")
            + f"BACKUP_S3_ENDPOINT={endpoint}\n"
            + f"BACKUP_S3_ACCESS_KEY=Ab1{secrets.token_hex(10)}\n"
            + f"BACKUP_S3_SECRET_KEY=Ab1{secrets.token_hex(20)}\n"
            + f"BACKUP_S3_BUCKET={BACKUP_BUCKET}\nBACKUP_S3_PREFIX=e2e\n",
            encoding="utf-8",
        )
        env_file.chmod(0o600)
        yield {
            **deployed.overrides(),
            ENV_FILE_OVERRIDE: str(env_file),
            "INVOKE_RUNTIME_CONFIG": str(logical_only_config("sandbox", scratch)),
        }


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


def _releases(sandbox: IsolatedSandbox) -> list[str]:
    with sandbox.runner() as runner:
        return release_names(Target(sandbox.environment(), runner))


def _last_audit(overrides: dict) -> dict:
    audited = _inv(overrides, "audit", "--json", "--lines", "1")
    assert audited.returncode == 0, audited.stderr
    return json.loads(audited.stdout)["records"][-1]


def test_a_deploy_backs_up_the_serving_release_before_migrating(
    deployed: IsolatedSandbox, offsite: dict
) -> None:
    result = _inv(offsite, "deploy", "--backup", "--json")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    backup_id = outcome["backup"]
    assert backup_id and "pre-deploy backup" in result.stderr
    # taken before the migration step, so before anything touched the data
    assert result.stderr.index("pre-deploy backup") < result.stderr.index("migrations")

    listed = json.loads(_inv(offsite, "backup.list", "--json").stdout)["backups"]
    entry = next(b for b in listed if b["id"] == backup_id)
    assert entry["kind"] == "pre-deploy"
    audit = _last_audit(offsite)
    assert audit["action"] == "deploy" and audit["result"] == "ok"
    assert audit["backup"] == backup_id and audit["release"] == outcome["release"]


def test_a_failed_pre_deploy_backup_stops_the_deploy_before_anything_moves(
    deployed: IsolatedSandbox, offsite: dict, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nobody listens on: the store is down
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    env_file = tmp_path / ".env.sandbox"
    env_file.write_text(
        Path(offsite[ENV_FILE_OVERRIDE])
        .read_text(encoding="utf-8")
        .replace("BACKUP_S3_ENDPOINT=", f"BACKUP_S3_ENDPOINT=127.0.0.1:{dead}\n#")
    )
    env_file.chmod(0o600)
    broken = {**offsite, ENV_FILE_OVERRIDE: str(env_file)}
    before, serving = _releases(deployed), httpx.get(f"{deployed.public_url}/version").json()

    result = _inv(broken, "deploy", "--backup")
    assert result.returncode == 1, result.stderr
    assert "still serving" in result.stderr and "migrations:" not in result.stderr
    assert _releases(deployed) == before
    assert httpx.get(f"{deployed.public_url}/version").json() == serving
    audit = _last_audit(broken)
    assert audit["result"] == "failed" and audit["backup"] == ""
