"""`inv deploy` with `image_delivery: registry`, against a real registry (Debian's
`docker-registry` with TLS from a throwaway CA and an htpasswd login) and a sandbox VM of
this module's own, so the session's VM, which other modules deploy to, is left alone; the
VM is removed at the end, the registry stopped, its CA untrusted again on this machine.

In order: a registry that is not set or does not answer changes nothing; a first deploy
pushes every image and the VM pulls them by digest, then serves through nginx; a redeploy
ships nothing; a new version ships only the app image; a wrong password fails in one line
and leaves the old release serving. No credential is left in either machine's Docker
config, and the password never appears in any output.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from shipyard.config import PROJECT_ROOT, load_config
from shipyard.images.app import read_build_info
from shipyard.remote import LocalRunner
from tests.e2e.deploy_support import build_derived, on_vm, served_version
from tests.e2e.registry_support import (
    RunningRegistry,
    bridge_gateway,
    tls_registry,
    trust_in_vm,
    untrust_in_vm,
)
from tests.e2e.support import CONTAINER, IsolatedSandbox, running_sandbox
from tests.integration.support import free_port, run_inv

ROOT = "/srv/docstore"
USERNAME = "deployer"
PASSWORD = f"Rg-{secrets.token_urlsafe(18)}"
WRONG_PASSWORD = f"Wr-{secrets.token_urlsafe(18)}"
PUSHED_TO = "pushed to"
NEXT = "0.5.0-registry"
REFUSED = "0.6.0-registry"
ENV_FILE_OVERRIDE = "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_ENV_FILE"


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IsolatedSandbox]:
    """A fresh sandbox VM for this module alone, removed at its end."""
    workdir = tmp_path_factory.mktemp("registry-vm")
    try:
        with running_sandbox(workdir, f"{CONTAINER}-registry") as isolated:
            yield isolated
    except AssertionError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def registry(
    vm: IsolatedSandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningRegistry]:
    """The registry on the address the VM reaches this machine on; both engines trust it."""
    ip = bridge_gateway(vm.container)
    with tls_registry(tmp_path_factory.mktemp("registry"), ip, USERNAME, PASSWORD) as running:
        trust_in_vm(vm.container, running)
        try:
            yield running
        finally:
            untrust_in_vm(vm.container, running)


@pytest.fixture(scope="module")
def checkout_tag() -> Iterator[str]:
    """The tag of the checkout's app image, and the images this module derives from it
    (removed at the end)."""
    config = load_config()
    build = read_build_info(PROJECT_ROOT, LocalRunner(PROJECT_ROOT))
    yield build.image_ref(config.app_name).partition(":")[2]
    for tag in (NEXT, REFUSED):
        subprocess.run(["docker", "image", "rm", f"docstore-app:{tag}"], capture_output=True)


def overrides(
    vm: IsolatedSandbox, tmp: Path, registry: str | None, password: str | None
) -> dict[str, str]:
    """`inv --env sandbox` pointed at the module's VM with registry delivery: invoke.yaml's
    sandbox has no `registry:` key for an environment variable to override, so a runtime
    config file sets both; the env file gets the login (when `password` is given)."""
    sandbox: dict[str, str] = {"image_delivery": "registry"}
    if registry:
        sandbox["registry"] = registry
    runtime = tmp / "invoke-runtime.yaml"
    runtime.write_text(yaml.safe_dump({"shipyard": {"environments": {"sandbox": sandbox}}}))
    env_file = tmp / ".env.sandbox"
    text = vm.env_file.read_text(encoding="utf-8")
    if password:
        text += f"REGISTRY_USERNAME={USERNAME}\nREGISTRY_PASSWORD={password}\n"
    env_file.write_text(text, encoding="utf-8")
    env_file.chmod(0o600)
    return {
        **vm.overrides(),
        "INVOKE_RUNTIME_CONFIG": str(runtime),
        ENV_FILE_OVERRIDE: str(env_file),
    }


def deploy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`inv deploy --env sandbox ARGS`; no password may appear in what it printed."""
    result = run_inv("deploy", "--env", "sandbox", *args, env=env)
    for password in (PASSWORD, WRONG_PASSWORD):
        assert password not in result.stdout + result.stderr, "a password was printed"
    return result


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error:` line, which must also be the last line."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    return errors[0]


def releases(vm: IsolatedSandbox) -> list[str]:
    listing = on_vm(vm, "ls", "-1", f"{ROOT}/releases").stdout.split()
    return sorted(name for name in listing if not name.startswith("."))


def current(vm: IsolatedSandbox) -> str:
    return on_vm(vm, "readlink", f"{ROOT}/current").stdout.strip()


NAMES = ["docker", "image", "ls", "--digests", "--format", "{{.Repository}}:{{.Tag}}"]
"""Every name of every image, digest-only ones (`repo:<none>`) included."""


def names_on_vm(vm: IsolatedSandbox) -> list[str]:
    return on_vm(vm, *NAMES).stdout.split()


def names_here() -> list[str]:
    return subprocess.run(NAMES, capture_output=True, text=True).stdout.split()


def image_id(ref: str, vm: IsolatedSandbox | None = None) -> str:
    argv = ["docker", "image", "inspect", "--format", "{{.Id}}", ref]
    if vm is not None:
        return on_vm(vm, *argv).stdout.strip()
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()


def no_registry_names(vm: IsolatedSandbox, registry: RunningRegistry) -> None:
    """Neither engine keeps a name (tag or digest) in the registry."""
    assert not [n for n in names_here() if n.startswith(registry.address)], names_here()
    assert not [n for n in names_on_vm(vm) if n.startswith(registry.address)], names_on_vm(vm)


def test_a_registry_not_set_or_not_answering_changes_nothing(
    vm: IsolatedSandbox, tmp_path: Path
) -> None:
    unset = deploy(overrides(vm, tmp_path, None, PASSWORD))
    assert unset.returncode == 2, unset.stderr
    assert "image_delivery is registry but registry is not set" in one_line_error(unset)

    closed = f"127.0.0.1:{free_port()}"
    down = deploy(overrides(vm, tmp_path, f"{closed}/e2e", PASSWORD))
    assert down.returncode == 2, down.stderr
    line = one_line_error(down)
    assert f"registry {closed} does not answer at https://{closed}/v2/" in line
    assert "start the registry or fix registry: of sandbox in invoke.yaml" in line

    assert releases(vm) == [] and current(vm) == ""
    assert not [name for name in names_on_vm(vm) if "docstore" in name or "shipyard" in name]


def test_first_deploy_pushes_and_the_vm_pulls_by_digest(
    vm: IsolatedSandbox, registry: RunningRegistry, checkout_tag: str, tmp_path: Path
) -> None:
    result = deploy(overrides(vm, tmp_path, f"{registry.address}/e2e", PASSWORD))
    assert result.returncode == 0, result.stderr
    assert f"{PUSHED_TO} {registry.address}/e2e, pulled by digest" in result.stderr

    build = read_build_info(PROJECT_ROOT, LocalRunner(PROJECT_ROOT))
    assert served_version(vm) == build.version
    (release,) = releases(vm)
    assert current(vm) == f"releases/{release}"

    facts = json.loads(on_vm(vm, "cat", f"{ROOT}/releases/{release}/release.json").stdout)
    refs = set(facts["images"].values())
    # app, postgres, nginx, objectstore and the ACME client (lego)
    assert f"docstore-app:{checkout_tag}" in refs and len(refs) == 5, refs
    for ref in refs:
        assert image_id(ref, vm) == image_id(ref) != "", f"{ref} differs on the VM"
    assert sorted(registry.catalog()) == sorted(f"e2e/{ref.partition(':')[0]}" for ref in refs)
    no_registry_names(vm, registry)


def test_a_redeploy_ships_nothing(
    vm: IsolatedSandbox, registry: RunningRegistry, tmp_path: Path
) -> None:
    before = {repository: registry.tags(repository) for repository in registry.catalog()}
    result = deploy(overrides(vm, tmp_path, f"{registry.address}/e2e", PASSWORD))
    assert result.returncode == 0, result.stderr
    assert PUSHED_TO not in result.stderr and "shipped" not in result.stderr
    assert result.stderr.count("already on the VM") == 5, result.stderr
    assert {repository: registry.tags(repository) for repository in registry.catalog()} == before
    assert len(releases(vm)) == 2


def test_a_new_version_ships_only_the_app_image(
    vm: IsolatedSandbox, registry: RunningRegistry, checkout_tag: str, tmp_path: Path
) -> None:
    tag = build_derived(
        checkout_tag, NEXT, "LABEL org.opencontainers.image.version=0.5.0\nENV APP_VERSION=0.5.0"
    )
    result = deploy(overrides(vm, tmp_path, f"{registry.address}/e2e", PASSWORD), "--version", tag)
    assert result.returncode == 0, result.stderr
    assert f"shipped docstore-app:{tag} (" in result.stderr
    assert result.stderr.count("already on the VM") == 4, result.stderr
    assert served_version(vm) == "0.5.0"
    assert image_id(f"docstore-app:{tag}", vm) == image_id(f"docstore-app:{tag}")
    assert tag in registry.tags("e2e/docstore-app")
    no_registry_names(vm, registry)


def test_a_wrong_password_fails_in_one_line_and_the_old_release_serves(
    vm: IsolatedSandbox, registry: RunningRegistry, checkout_tag: str, tmp_path: Path
) -> None:
    tag = build_derived(
        checkout_tag, REFUSED, "LABEL org.opencontainers.image.version=0.6.0\nENV APP_VERSION=0.6.0"
    )
    before = (releases(vm), current(vm))
    env = overrides(vm, tmp_path, f"{registry.address}/e2e", WRONG_PASSWORD)
    result = deploy(env, "--version", tag)
    assert result.returncode == 1, result.stderr
    line = one_line_error(result)
    assert f"docker login to {registry.address} (here) failed" in line
    assert "check REGISTRY_USERNAME and REGISTRY_PASSWORD" in line
    assert (releases(vm), current(vm)) == before
    assert served_version(vm) == "0.5.0"
    assert on_vm(vm, "test", "-e", f"{ROOT}/deploy.lock").returncode == 1
    assert image_id(f"docstore-app:{tag}", vm) == ""
    assert tag not in registry.tags("e2e/docstore-app")


def test_no_credential_is_left_on_either_machine(
    vm: IsolatedSandbox, registry: RunningRegistry
) -> None:
    home = on_vm(vm, "sh", "-c", 'cat "$HOME/.docker/config.json" 2>/dev/null; true').stdout
    assert registry.address not in home and PASSWORD not in home
    here = Path.home() / ".docker" / "config.json"
    text = here.read_text(encoding="utf-8") if here.is_file() else ""
    assert registry.address not in text
    leftovers = on_vm(vm, "sh", "-c", "ls -d /tmp/shipyard-registry.* 2>/dev/null; true")
    assert leftovers.stdout.strip() == ""
    assert not list(Path(tempfile.gettempdir()).glob("shipyard-registry-*"))
    # the login is deployer-only: no release's .env (nor shared/.env) on the VM carries it
    env_files = on_vm(vm, "sh", "-c", f"cat {ROOT}/releases/*/.env {ROOT}/shared/.env")
    assert env_files.returncode == 0 and "APP_ENV=" in env_files.stdout, env_files.stderr
    assigned = [line for line in env_files.stdout.splitlines() if line.startswith("REGISTRY_")]
    assert assigned == [] and PASSWORD not in env_files.stdout
    no_registry_names(vm, registry)
