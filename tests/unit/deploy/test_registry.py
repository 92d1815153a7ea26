"""Registry delivery: names in the registry, the commands on both machines (pure), and the
preflight that refuses a missing, malformed, unreachable or untrusted registry."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shipyard.config import load_config
from shipyard.deploy import preflight, registry
from shipyard.errors import CommandFailedError, ConfigError, PrerequisiteError
from tests.e2e.registry_support import certificates

PREFIX = "registry.example.com:5000/team"


@pytest.mark.parametrize(
    ("ref", "pushed"),
    [
        ("docstore-app:0.1.0-abc", f"{PREFIX}/docstore-app:0.1.0-abc"),
        ("shipyard-local/postgres:15", f"{PREFIX}/shipyard-local/postgres:15"),
        ("postgres:16", f"{PREFIX}/postgres:16"),
        ("minio/minio", f"{PREFIX}/minio/minio:latest"),
        ("quay.io/minio/minio:RELEASE.2024", f"{PREFIX}/minio/minio:RELEASE.2024"),
        ("localhost:5000/app:1", f"{PREFIX}/app:1"),
        ("127.0.0.1:5000/team/app:1", f"{PREFIX}/team/app:1"),
        ("nginx:1.27@sha256:ab12", f"{PREFIX}/nginx:1.27"),
    ],
)
def test_local_refs_map_to_a_clean_repository_path_under_the_prefix(ref, pushed) -> None:
    assert registry.registry_ref(PREFIX, ref) == pushed
    assert registry.registry_ref(PREFIX + "/", ref) == pushed


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("docstore-app:0.2.0", ("docstore-app", "0.2.0")),
        ("shipyard-local/postgres:15", ("shipyard-local/postgres", "15")),
        ("docstore-app", ("docstore-app", "latest")),
        ("localhost:5000/app", ("localhost:5000/app", "latest")),
        ("localhost:5000/app:1", ("localhost:5000/app", "1")),
        ("nginx:1.27@sha256:ab12", ("nginx", "1.27")),
    ],
)
def test_a_ref_splits_into_its_name_and_tag(ref: str, expected: tuple[str, str]) -> None:
    assert registry.split_tag(ref) == expected
    assert registry.tag_of(ref) == expected[1]


def test_the_vm_pulls_the_pushed_repository_by_digest() -> None:
    ref = "shipyard-local/postgres:15"
    assert registry.registry_repository(PREFIX, ref) == f"{PREFIX}/shipyard-local/postgres"
    assert registry.pinned_ref(PREFIX, ref, "sha256:0f") == (
        f"{PREFIX}/shipyard-local/postgres@sha256:0f"
    )


def test_the_login_goes_to_the_registry_host() -> None:
    assert registry.registry_host(PREFIX) == "registry.example.com:5000"
    assert registry.registry_host("registry.example.com") == "registry.example.com"
    assert registry.registry_host("localhost/team/") == "localhost"


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        (PREFIX, None),
        ("registry.example.com", None),
        ("10.0.0.5:5000", None),
        ("localhost:5000/a/b", None),
        ("team", "does not start with a registry host ('team' has no . or :)"),
        ("https://registry.example.com", "has a scheme: write it without https://"),
        ("registry.example.com/Team", "must be lower case without spaces or @"),
        ("registry.example.com/team:1", "has a tag; name only the host and repository path"),
    ],
)  # fmt: skip
def test_prefix_problems(prefix: str, problem: str | None) -> None:
    assert registry.prefix_problem(prefix) == problem


def test_the_digest_of_the_pushed_repository_is_picked() -> None:
    digests = (
        '["postgres@sha256:aa", "registry.example.com:5000/team/postgres@sha256:bb",'
        ' "registry.example.com:5000/team/postgres-old@sha256:cc"]'
    )
    repository = f"{PREFIX}/postgres"
    assert registry.pushed_digest(digests, repository) == "sha256:bb"
    with pytest.raises(CommandFailedError, match="recorded no digest"):
        registry.pushed_digest('["postgres@sha256:aa"]', repository)
    with pytest.raises(CommandFailedError):
        registry.pushed_digest("null", repository)


def test_commands_use_a_config_directory_of_their_own_only_with_a_login() -> None:
    assert registry.login_argv("/tmp/c", "r.example.com:5000", "deployer") == [
        "docker", "--config", "/tmp/c", "login", "r.example.com:5000",
        "--username", "deployer", "--password-stdin",
    ]  # fmt: skip
    assert registry.push_argv("/tmp/c", "r.example.com/app:1") == [
        "docker", "--config", "/tmp/c", "push", "--quiet", "r.example.com/app:1",
    ]  # fmt: skip
    assert registry.push_argv(None, "r.example.com/app:1") == [
        "docker", "push", "--quiet", "r.example.com/app:1",
    ]  # fmt: skip
    assert registry.pull_argv(None, "r.example.com/app@sha256:0f") == [
        "docker", "pull", "--quiet", "r.example.com/app@sha256:0f",
    ]  # fmt: skip
    assert registry.pull_argv("/tmp/x", "r.example.com/app@sha256:0f")[:3] == [
        "docker", "--config", "/tmp/x",
    ]  # fmt: skip


def test_names_are_given_and_removed_without_a_config() -> None:
    assert registry.tag_argv("r.example.com/app@sha256:0f", "app:1") == [
        "docker", "tag", "r.example.com/app@sha256:0f", "app:1",
    ]  # fmt: skip
    assert registry.untag_argv("r.example.com/app:1") == [
        "docker",
        "image",
        "rm",
        "r.example.com/app:1",
    ]
    assert registry.repo_digests_argv("r.example.com/app:1") == [
        "docker", "image", "inspect", "--format", "{{json .RepoDigests}}", "r.example.com/app:1",
    ]  # fmt: skip


def test_the_vm_config_directory_is_private_and_removed() -> None:
    assert registry.temp_config_argv() == ["mktemp", "-d", "-t", "shipyard-registry.XXXXXXXX"]
    assert registry.remove_dir_argv("/tmp/shipyard-registry.ab") == [
        "rm", "-rf", "/tmp/shipyard-registry.ab",
    ]  # fmt: skip


def test_no_password_is_in_any_command_line_or_repr() -> None:
    login = registry.Login("deployer", "Sup3r-Secret-Passw0rd")
    assert "Sup3r" not in repr(login)
    argv = registry.login_argv("/tmp/c", "r.example.com", login.username)
    assert login.password not in " ".join(argv)


# -- preflight -------------------------------------------------------------------------------


def sandbox(**changes):  # type: ignore[no-untyped-def]
    return load_config().environment("sandbox").model_copy(update=changes)


def test_registry_delivery_needs_a_registry_that_names_a_host() -> None:
    preflight.require_deployable(sandbox(image_delivery="ssh"))
    preflight.require_deployable(sandbox(image_delivery="registry", registry=PREFIX))
    with pytest.raises(ConfigError, match="image_delivery is registry but registry is not set"):
        preflight.require_deployable(sandbox(image_delivery="registry"))
    with pytest.raises(ConfigError, match="registry does not start with a registry host"):
        preflight.require_deployable(sandbox(image_delivery="registry", registry="team"))
    with pytest.raises(ConfigError, match="image_delivery 'none' cannot deploy"):
        preflight.require_deployable(sandbox(image_delivery="none"))


def test_an_unreachable_registry_is_one_line_naming_it_and_the_fix() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = sandbox(image_delivery="registry", registry=f"127.0.0.1:{port}/team")
    with pytest.raises(PrerequisiteError) as caught:
        preflight.check_registry(env)
    line = caught.value.one_line()
    assert f"registry 127.0.0.1:{port} does not answer at https://127.0.0.1:{port}/v2/" in line
    assert "start the registry or fix registry: of sandbox in invoke.yaml" in line
    assert "\n" not in line


def test_a_registry_whose_certificate_is_not_trusted_is_refused(tmp_path: Path) -> None:
    ca_pem, cert_pem, key_pem = certificates("127.0.0.1")
    with tls_server(tmp_path, cert_pem, key_pem) as port:
        env = sandbox(image_delivery="registry", registry=f"127.0.0.1:{port}")
        with pytest.raises(PrerequisiteError) as caught:
            preflight.check_registry(env)
        assert f"registry 127.0.0.1:{port}: its TLS certificate is not trusted here" in (
            caught.value.message
        )
        assert f"/etc/docker/certs.d/127.0.0.1:{port}/ca.crt" in str(caught.value.hint)

        # Trusted the way Docker's engine trusts it: certs.d/<host:port>/*.crt.
        certs = tmp_path / "certs.d"
        (certs / f"127.0.0.1:{port}").mkdir(parents=True)
        (certs / f"127.0.0.1:{port}" / "ca.crt").write_bytes(ca_pem)
        context = registry.trust_context(f"127.0.0.1:{port}", certs)
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.version() is not None


@contextmanager
def tls_server(tmp_path: Path, cert_pem: bytes, key_pem: bytes) -> Iterator[int]:
    """A TLS server on 127.0.0.1 that answers every request with 401, in a thread."""
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(client, server_side=True) as tls:
                    tls.recv(4096)
                    tls.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            except (OSError, ssl.SSLError):
                client.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_the_login_comes_from_the_deploys_env_file_values():
    values = {"REGISTRY_USERNAME": "deployer", "REGISTRY_PASSWORD": "Sup3r-Secret-Passw0rd"}
    assert registry.login_for(values) == registry.Login("deployer", "Sup3r-Secret-Passw0rd")
    assert registry.login_for({"APP_ENV": "staging"}) is None
