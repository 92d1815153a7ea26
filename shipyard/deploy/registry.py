"""Image delivery through the team's registry (`image_delivery: registry`): each image the
VM lacks is pushed here as `<registry>/<repository>:<tag>`, pulled on the VM by the digest
the push produced (so what runs is what was pushed), and tagged there with its local name,
the one the release's `.env` names. The registry's names are removed on both machines.

With REGISTRY_USERNAME and REGISTRY_PASSWORD in the env file, `docker login` runs on each
machine into a temporary Docker config directory (the password on standard input), used
for this deploy only and removed afterwards: no credential is left in `~/.docker` on
either side. Without them, the logins both engines already have are used.

The argv builders and name mappings are pure; `deliver` runs them.
"""

from __future__ import annotations

import json
import ssl
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from shipyard import console
from shipyard.config import PROJECT_ROOT
from shipyard.errors import CommandFailedError
from shipyard.masking import mask
from shipyard.remote import CommandResult, LocalRunner
from shipyard.vm.target import Target

USERNAME_VARIABLE = "REGISTRY_USERNAME"
PASSWORD_VARIABLE = "REGISTRY_PASSWORD"  # noqa: S105 - a variable's name
DOCKER_CERTS = Path("/etc/docker/certs.d")
TRANSFER_TIMEOUT = 1800
TEMP_TEMPLATE = "shipyard-registry.XXXXXXXX"


@dataclass(frozen=True)
class Login:
    """The registry login of a deploy (from the env file)."""

    username: str
    password: str = field(repr=False)


# -- names ------------------------------------------------------------------------------------


def names_a_host(component: str) -> bool:
    """True when the first component of an image name is a registry host (Docker's rule:
    it has a `.` or a `:`, or is `localhost`)."""
    return "." in component or ":" in component or component == "localhost"


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` cannot be an environment's `registry:`, or None when it can."""
    if "://" in prefix:
        return "has a scheme: write it without https://"
    if any(char.isspace() for char in prefix) or "@" in prefix or prefix != prefix.lower():
        return "must be lower case without spaces or @"
    host, _, path = prefix.strip("/").partition("/")
    if not names_a_host(host):
        return f"does not start with a registry host ({host!r} has no . or :)"
    if path and ":" in path:
        return "has a tag; name only the host and repository path"
    return None


def registry_host(prefix: str) -> str:
    """`registry.example.com:5000/team` -> `registry.example.com:5000` (what to log in to)."""
    return prefix.strip("/").partition("/")[0]


def repository_path(ref: str) -> str:
    """The repository of a local image reference, without tag or source registry host:
    `docstore-app:0.1.0` -> `docstore-app`, `shipyard-local/postgres:15` ->
    `shipyard-local/postgres`, `quay.io/minio/minio:latest` -> `minio/minio`."""
    name = split_tag(ref)[0]
    first, _, rest = name.partition("/")
    return rest if rest and names_a_host(first) else name


def split_tag(ref: str) -> tuple[str, str]:
    """A reference's name and tag (`latest` when it names none; a digest is dropped):
    `localhost:5000/app:1` -> (`localhost:5000/app`, `1`)."""
    name = ref.partition("@")[0]
    base, colon, tag = name.rpartition(":")
    if colon and "/" not in tag:
        return base, tag
    return name, "latest"


def tag_of(ref: str) -> str:
    """The tag of a reference (`latest` when it names none)."""
    return split_tag(ref)[1]


def registry_repository(prefix: str, ref: str) -> str:
    """Where `ref` lives in the registry: `<prefix>/<repository path>`."""
    return f"{prefix.strip('/')}/{repository_path(ref)}"


def registry_ref(prefix: str, ref: str) -> str:
    """The name `ref` is pushed under: `<prefix>/<repository path>:<tag>`."""
    return f"{registry_repository(prefix, ref)}:{tag_of(ref)}"


def pinned_ref(prefix: str, ref: str, digest: str) -> str:
    """What the VM pulls: `<prefix>/<repository path>@<digest>`."""
    return f"{registry_repository(prefix, ref)}@{digest}"


def pushed_digest(repo_digests_json: str, repository: str) -> str:
    """The digest `repository` gave the image, from `docker image inspect` RepoDigests;
    CommandFailedError when the push left none."""
    for entry in json.loads(repo_digests_json or "null") or []:
        name, _, digest = str(entry).partition("@")
        if name == repository and digest:
            return digest
    raise CommandFailedError(f"the push to {repository} recorded no digest")


# -- commands ---------------------------------------------------------------------------------


def docker(config: str | None, *args: str) -> list[str]:
    """`docker` with a Docker config directory of its own when `config` is given."""
    return ["docker", *(["--config", config] if config else []), *args]


def login_argv(config: str, host: str, username: str) -> list[str]:
    """`docker login` into `config`, the password read from standard input."""
    return docker(config, "login", host, "--username", username, "--password-stdin")


def push_argv(config: str | None, name: str) -> list[str]:
    """Push `name` (only the layers the registry lacks are uploaded)."""
    return docker(config, "push", "--quiet", name)


def pull_argv(config: str | None, pinned: str) -> list[str]:
    """Pull by digest (only the layers the engine lacks are fetched)."""
    return docker(config, "pull", "--quiet", pinned)


def tag_argv(source: str, target: str) -> list[str]:
    """Give an image another name."""
    return ["docker", "tag", source, target]


def untag_argv(name: str) -> list[str]:
    """Remove one name of an image (the image stays while another name has it)."""
    return ["docker", "image", "rm", name]


def repo_digests_argv(name: str) -> list[str]:
    """The digests the image of `name` has in registries, as JSON."""
    return ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", name]


def temp_config_argv() -> list[str]:
    """On the VM: a new private directory for a Docker config (prints its path)."""
    return ["mktemp", "-d", "-t", TEMP_TEMPLATE]


def remove_dir_argv(path: str) -> list[str]:
    """Remove a temporary directory."""
    return ["rm", "-rf", path]


# -- trust and credentials --------------------------------------------------------------------


def trust_context(host: str, certs: Path = DOCKER_CERTS) -> ssl.SSLContext:
    """TLS verification as Docker's engine does it here: the system's CAs plus the `*.crt`
    files in /etc/docker/certs.d/<host>/."""
    context = ssl.create_default_context()
    directory = certs / host
    if directory.is_dir():
        for ca in sorted(directory.glob("*.crt")):
            context.load_verify_locations(cafile=str(ca))
    return context


def login_for(values: Mapping[str, str]) -> Login | None:
    """REGISTRY_USERNAME and REGISTRY_PASSWORD from the env file's values (validated, and
    the password registered for masking, by the deploy's preflight), or None when the file
    does not set them."""
    username, password = values.get(USERNAME_VARIABLE, ""), values.get(PASSWORD_VARIABLE, "")
    return Login(username, password) if username and password else None


# -- delivery ---------------------------------------------------------------------------------


def deliver(target: Target, refs: Sequence[str], login: Login | None) -> None:
    """Push `refs` to the environment's registry and pull them on the VM by digest, each
    then named as here; the registry's names are removed on both machines. With `login`,
    both machines log in to the registry for this delivery only."""
    prefix = target.env.registry
    if not prefix:
        raise ValueError(f"environment {target.env.name} has no registry")
    host = registry_host(prefix)
    local = LocalRunner(PROJECT_ROOT)
    logins = f"{USERNAME_VARIABLE} and {PASSWORD_VARIABLE} in {target.env.env_file}"
    with (
        _config_here(local, host, login, f"check {logins}") as here,
        _config_on_vm(target, host, login, f"check {logins}") as there,
    ):
        for ref in refs:
            hint = f"this machine must trust {host} and log in there (`docker login`, or {logins})"
            digest = _push(local, here, prefix, ref, hint)
            _pull(target, there, pinned_ref(prefix, ref, digest), ref)


def _push(local: LocalRunner, config: str | None, prefix: str, ref: str, hint: str) -> str:
    """Push `ref` under the registry's name; returns the digest it got."""
    name = registry_ref(prefix, ref)
    local.run(tag_argv(ref, name)).raise_for_status(f"docker tag {ref}")
    try:
        with console.status(f"pushing {ref} to {registry_host(prefix)}"):
            pushed = local.run(push_argv(config, name), timeout=TRANSFER_TIMEOUT)
        _require(pushed, f"docker push {name}", hint)
        digests = local.run(repo_digests_argv(name)).raise_for_status("docker image inspect")
        return pushed_digest(digests.stdout.strip(), registry_repository(prefix, ref))
    finally:
        local.run(untag_argv(name))


def _pull(target: Target, config: str | None, pinned: str, ref: str) -> None:
    """On the VM: pull `pinned`, name it `ref`, drop the registry's name."""
    try:
        with console.status(f"{target.env.name} pulls {ref} by digest"):
            pulled = target.probe(pull_argv(config, pinned), timeout=TRANSFER_TIMEOUT)
        _require(
            pulled,
            f"docker pull on {target.env.name}",
            "the VM must reach the registry, trust its certificate and may pull from it "
            "(docs/deploy.md, Registry delivery)",
        )
        target.run(tag_argv(pinned, ref), f"docker tag {ref} on the VM")
    finally:
        target.probe(untag_argv(pinned))


@contextmanager
def _config_here(
    local: LocalRunner, host: str, login: Login | None, hint: str
) -> Iterator[str | None]:
    """A temporary Docker config here, logged in to `host` (None without a login)."""
    if login is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="shipyard-registry-") as config:
        argv = login_argv(config, host, login.username)
        result = local.run(argv, stdin=login.password.encode())
        _require(result, f"docker login to {host} (here)", hint)
        yield config


@contextmanager
def _config_on_vm(
    target: Target, host: str, login: Login | None, hint: str
) -> Iterator[str | None]:
    """A temporary Docker config on the VM, logged in to `host` (None without a login)."""
    if login is None:
        yield None
        return
    config = target.run(temp_config_argv(), "mktemp on the VM").stdout.strip()
    try:
        argv = login_argv(config, host, login.username)
        result = target.runner.stream_in(argv, [login.password.encode()])
        _require(result, f"docker login to {host} (on {target.env.name})", hint)
        yield config
    finally:
        target.probe(remove_dir_argv(config))


def _require(result: CommandResult, what: str, hint: str) -> None:
    """CommandFailedError, one line: `what` and the last line the command printed."""
    if result.ok:
        return
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines()]
    last = next((line for line in reversed(lines) if line), "")
    detail = f": {last}" if last else ""
    raise CommandFailedError(mask(f"{what} failed (exit {result.exit_code}){detail}"), hint=hint)
