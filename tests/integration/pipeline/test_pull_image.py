"""`inv ci.pull-image`'s library: production takes the image staging pushed, from a real
registry (Debian's docker-registry on 127.0.0.1), by digest, under its local name."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Iterator

import httpx
import pytest

from shipyard.config import PROJECT_ROOT, Environment, load_config
from shipyard.deploy.layers import local_registry
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.pipeline.promote import pull_staged
from shipyard.remote import LocalRunner

RUNNER = LocalRunner(PROJECT_ROOT)
LOCAL = f"docstore-app:9.9.9-pipeline{os.getpid()}"


def _docker(*args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(["docker", *args], input=stdin, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip()


def _tiny_image(name: str) -> None:
    """A one-file image made with `docker import` (no base image needed)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = f"{name}\n".encode()
        info = tarfile.TarInfo("release.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    _docker("import", "-", name, stdin=buffer.getvalue())


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    """Production with its registry on 127.0.0.1, holding LOCAL as staging pushed it."""
    with local_registry(tmp_path_factory.mktemp("registry")) as port:
        prefix = f"127.0.0.1:{port}/team"
        pushed = f"{prefix}/docstore-app:{LOCAL.partition(':')[2]}"
        _tiny_image(pushed)
        _docker("push", "--quiet", pushed)
        _docker("image", "rm", pushed)
        env = load_config().environment("production")
        yield env.model_copy(update={"registry": prefix})
        subprocess.run(["docker", "image", "rm", LOCAL], capture_output=True, check=False)


def test_the_staged_image_is_pulled_by_digest_and_named_locally(production: Environment):
    promoted = pull_staged(production, LOCAL, RUNNER)
    assert promoted.local == LOCAL
    assert promoted.pinned.startswith(f"{production.registry}/docstore-app@sha256:")
    host, _, repository = f"{production.registry}/docstore-app".partition("/")
    manifest = httpx.head(
        f"http://{host}/v2/{repository}/manifests/{LOCAL.partition(':')[2]}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    assert promoted.pinned.endswith(f"@{manifest.headers['Docker-Content-Digest']}")
    tags = _docker("image", "inspect", "--format", "{{json .RepoTags}}", LOCAL)
    assert tags == f'["{LOCAL}"]'  # the registry's name is not left behind


def test_a_commit_staging_never_pushed_fails(production: Environment) -> None:
    with pytest.raises(CommandFailedError, match="staging has not deployed this commit"):
        pull_staged(production, "docstore-app:9.9.9-neverpushed", RUNNER)


def test_a_dirty_build_or_ssh_delivery_is_refused(production: Environment) -> None:
    with pytest.raises(ConfigError, match="clean, committed checkout"):
        pull_staged(production, "docstore-app:9.9.9-abc-dirty", RUNNER)
    ssh = production.model_copy(update={"image_delivery": "ssh"})
    with pytest.raises(ConfigError, match="does not deliver through a registry"):
        pull_staged(ssh, LOCAL, RUNNER)
