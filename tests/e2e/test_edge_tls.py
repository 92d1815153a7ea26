"""HTTPS at the edge, end to end: a sandbox VM with an https public URL gets its
certificate from a real ACME server (Debian's Pebble, started by `inv sandbox.up`) during
its first deploy, passes the whole smoke suite (redirect, chain to the test CA, HSTS),
complies with Mozilla's intermediate profile by sslyze, renews in place, and a failing
challenge changes nothing that is served."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shipyard.sandbox.tls import set_values, state_dir
from tests.e2e.deploy_support import on_vm
from tests.e2e.support import _OVERRIDE, CONTAINER, IsolatedSandbox
from tests.integration.support import free_port, run_inv

HOST = "localhost"
ALLOWED_ORIGIN = "https://app.example.com"
POLICY = {
    # The env file's policy, not the sandbox's load-test defaults: the smoke suite's
    # bounded bursts must meet the limits even on a slow, shared machine.
    "RATE_LIMIT_PER_MINUTE": "600",
    "RATE_LIMIT_BURST": "20",
    "RATE_LIMIT_WRITES_PER_MINUTE": "60",
    "RATE_LIMIT_WRITES_BURST": "10",
    "CORS_ORIGINS": ALLOWED_ORIGIN,
}


@dataclass(frozen=True)
class HttpsSandbox(IsolatedSandbox):
    """The isolated sandbox with an https public URL on `https_port`; plain HTTP on
    `http_port`."""

    https_port: int = 0

    @property
    def public_url(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    def overrides(self) -> dict[str, str]:
        return {**super().overrides(), f"{_OVERRIDE}HTTP_PORT": str(self.http_port)}

    @property
    def root(self) -> Path:
        """The test CA's root of this run (what clients trust)."""
        return state_dir(self.container) / "root.pem"


def served_serial(sandbox: HttpsSandbox) -> str:
    """The serial of the certificate a new handshake gets, verified against the test CA."""
    context = ssl.create_default_context(cafile=str(sandbox.root))
    with (
        socket.create_connection(("127.0.0.1", sandbox.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        return str(tls.getpeercert()["serialNumber"])


def must(result: subprocess.CompletedProcess[str], what: str) -> str:
    """The output of a command that must succeed."""
    assert result.returncode == 0, (
        f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def https_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsSandbox]:
    """`inv sandbox.up` of an https sandbox, then its first `inv deploy`."""
    workdir = tmp_path_factory.mktemp("tls")
    sandbox = HttpsSandbox(workdir, free_port(), free_port(), f"{CONTAINER}-tls", free_port())
    run_inv("sandbox.down", env=sandbox.overrides())
    try:
        must(run_inv("sandbox.up", env=sandbox.overrides()), "inv sandbox.up")
        set_values(sandbox.env_file, POLICY)
        must(run_inv("deploy", "--env", "sandbox", env=sandbox.overrides()), "inv deploy")
        yield sandbox
    finally:
        down = run_inv("sandbox.down", env=sandbox.overrides())
        assert down.returncode == 0, down.stderr


def test_first_deploy_serves_a_certificate_from_the_test_acme_server(https_sandbox):
    status = json.loads(
        must(
            run_inv("certs.status", "--env", "sandbox", "--json", env=https_sandbox.overrides()),
            "status",
        )
    )
    certificate = status["certificate"]
    assert certificate["issuer"].startswith("Pebble Intermediate CA")
    assert certificate["names"] == [HOST]
    assert 29 <= certificate["days_left"] <= 30
    assert certificate["renewal_due"] is False


def test_the_vm_renews_by_itself_at_a_third_of_the_lifetime(https_sandbox):
    renewer = on_vm(
        https_sandbox,
        "docker", "ps", "--filter", "label=com.docker.compose.service=acme",
        "--format", "{{.State}}",
    )  # fmt: skip
    assert renewer.stdout.split() == ["running"], renewer.stdout + renewer.stderr
    script = on_vm(https_sandbox, "cat", "/srv/docstore/shared/certs/renew.sh")
    assert " renew --days 10\n" in script.stdout, script.stdout
    keys = on_vm(
        https_sandbox, "sh", "-c",
        "docker run --rm -v /srv/docstore/shared/certs:/c --entrypoint sh "
        "$(sed -n 's/^ACME_IMAGE=//p' /srv/docstore/current/.env) -c "
        "'find /c/acme /c/live -type f \\( -name \"*.key\" -o -name \"*.pem\" \\) "
        "! -perm 600 | wc -l'",
    )  # fmt: skip
    assert keys.stdout.strip() == "0", f"keys not 0600: {keys.stdout} {keys.stderr}"


def test_the_whole_smoke_suite_passes_over_https(https_sandbox):
    output = must(run_inv("smoke", "--env", "sandbox", env=https_sandbox.overrides()), "inv smoke")
    checks = (
        "http redirects to https",
        "hsts is sent",
        "certificate is valid",
        "rate limit answers 429",
        "writes meet the stricter limit",
        "allowed origin preflight",
        "text is gzipped",
    )
    for check in checks:
        assert f"ok    {check}" in output, output
    assert "n/a" not in output, output


def test_port_80_redirects_with_path_and_query(https_sandbox):
    response = httpx.get(
        f"http://127.0.0.1:{https_sandbox.http_port}/documents?limit=5", follow_redirects=False
    )
    assert response.status_code == 301
    assert response.headers["location"] == f"{https_sandbox.public_url}/documents?limit=5"


def test_sslyze_finds_the_mozilla_intermediate_profile(https_sandbox):
    # Pebble is configured for 30-day certificates (its default, 5 years, breaks the
    # profile's lifespan rule), so no check of the profile is left out.
    scan = subprocess.run(
        [
            sys.executable,
            "-m",
            "sslyze",
            "--mozilla_config=intermediate",
            f"--certinfo_ca_file={https_sandbox.root}",
            f"{HOST}:{https_sandbox.https_port}{{127.0.0.1}}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert scan.returncode == 0, scan.stdout[-3000:] + scan.stderr[-1000:]
    assert "OK - Compliant" in scan.stdout


def test_a_failing_challenge_exits_1_naming_the_domain_and_serves_the_same(https_sandbox):
    before = served_serial(https_sandbox)
    set_values(https_sandbox.env_file, {"TLS_EXTRA_NAMES": "unpointed.test"})
    try:
        failed = run_inv("certs.issue", "--env", "sandbox", env=https_sandbox.overrides())
    finally:
        text = https_sandbox.env_file.read_text(encoding="utf-8")
        https_sandbox.env_file.write_text(text.replace("TLS_EXTRA_NAMES=unpointed.test\n", ""))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, failed.stderr
    assert "unpointed.test" in errors[0], errors[0]
    assert "Traceback" not in failed.stderr
    assert served_serial(https_sandbox) == before


def test_a_forced_renewal_is_served_from_the_next_handshake(https_sandbox):
    before = served_serial(https_sandbox)
    must(
        run_inv("certs.renew", "--env", "sandbox", "--force", env=https_sandbox.overrides()),
        "inv certs.renew --force",
    )
    assert served_serial(https_sandbox) != before


def test_backup_saves_the_certificates(https_sandbox):
    backup = run_inv("backup", "--env", "sandbox", env=https_sandbox.overrides())
    must(backup, "inv backup")
    assert "certificates: certs.tar" in backup.stderr, backup.stderr


def test_certs_restore_serves_the_backed_up_certificate_again(https_sandbox):
    """The backup just taken holds the certificate served now; a forced renewal replaces
    it; `inv certs.restore` puts the backed-up one back, served from the next handshake,
    with the replaced state kept on the VM."""
    overrides = https_sandbox.overrides()
    backed_up = served_serial(https_sandbox)
    dry = must(run_inv("certs.restore", "--env", "sandbox", "--dry-run", env=overrides), "dry")
    assert "puts back certificate for localhost" in dry, dry
    must(run_inv("certs.renew", "--env", "sandbox", "--force", env=overrides), "renew --force")
    assert served_serial(https_sandbox) != backed_up
    refused = run_inv("certs.restore", "--env", "sandbox", env=overrides)
    assert refused.returncode == 3, refused.stderr  # no terminal, no --yes: nothing changes
    assert served_serial(https_sandbox) != backed_up
    restored = json.loads(
        must(
            run_inv("certs.restore", "--env", "sandbox", "--yes", "--json", env=overrides),
            "inv certs.restore",
        )
    )
    assert served_serial(https_sandbox) == backed_up
    assert restored["certificate"]["names"] == [HOST]
    kept = on_vm(https_sandbox, "sh", "-c", "ls /srv/docstore/shared/certs/")
    assert "before-restore-" in kept.stdout, kept.stdout + kept.stderr
    missing = run_inv("certs.restore", "--env", "sandbox", "--backup", "20200101T000000Z",
                      "--yes", env=overrides)  # fmt: skip
    assert missing.returncode == 2 and "does not exist" in missing.stderr, missing.stderr
    assert "Traceback" not in missing.stderr
