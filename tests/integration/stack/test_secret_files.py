"""Secrets reach the local stack's containers as files, never as environment variables; an
env file whose database password does not open the existing volume stops `inv setup` with
one line."""

from __future__ import annotations

import json
import re
import secrets
import subprocess

from shipyard.envfile.load import read_env_file
from shipyard.secretfiles import SECRET_FILES, SERVICE_USERS
from tests.integration.stack.conftest import Stack
from tests.integration.support import run_inv

SECRETS = ("POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY")


def _inspect(container: str) -> str:
    result = subprocess.run(
        ["docker", "inspect", container], capture_output=True, text=True, check=True
    )
    return result.stdout


def test_no_secret_is_in_docker_inspect_of_any_container(stack: Stack):
    values = read_env_file(stack.lib.project.env_file)
    for service in ("app", "db", "objectstore", "nginx"):
        inspected = _inspect(stack.container_id(service))
        env = json.loads(inspected)[0]["Config"]["Env"]
        for name in SECRETS:
            assert values[name] not in inspected, f"{name} in docker inspect of {service}"
            assert not any(line.startswith(f"{name}=") for line in env), (service, name)


def test_each_service_reads_its_secrets_as_files_only_its_user_can_read(stack: Stack):
    for secret in SECRET_FILES:
        stat = stack.compose(
            stack.lib.project.exec(
                secret.service, ["stat", "-c", "%u %a", f"/run/secrets/{secret.name}"]
            )
        ).raise_for_status(f"stat in {secret.service}")
        assert stat.stdout.split() == [str(SERVICE_USERS[secret.service]), "400"], secret


def test_a_new_env_file_against_the_old_volume_is_one_line(stack: Stack):
    env_file = stack.lib.project.env_file
    saved = env_file.read_bytes()
    env_file.unlink()  # as a new user would: delete .env, run `inv setup` again
    try:
        result = run_inv("setup", env=stack.isolated.overrides())
    finally:
        env_file.write_bytes(saved)
        env_file.chmod(0o600)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    volume = f"{stack.isolated.project}_pgdata"
    assert errors == [
        f"error: the database volume {volume} was created with another password than"
        " POSTGRES_PASSWORD (or another POSTGRES_USER) in .env (restore the .env it was"
        " created with, or delete the data with `inv down --volumes --yes`)"
    ]
    again = run_inv("up", "--no-build", env=stack.isolated.overrides())
    assert again.returncode == 0, again.stdout + again.stderr
    stack.wait_ready()


def test_up_recreates_the_containers_whose_secret_files_moved(stack: Stack):
    """A changed S3 key moves the secret files to a new directory; compose alone would keep
    the containers on the old files (its config hash names the secret, not the file), and
    the pruned old directory would be gone at their next restart."""
    env_file = stack.lib.project.env_file
    saved = env_file.read_bytes()
    before = {name: stack.container_id(name) for name in ("app", "objectstore", "db")}
    new_key = secrets.token_urlsafe(30)
    text = re.sub(r"(?m)^S3_SECRET_KEY=.*$", f"S3_SECRET_KEY={new_key}", saved.decode())
    env_file.write_text(text)
    try:
        changed = run_inv("up", "--no-build", env=stack.isolated.overrides())
        assert changed.returncode == 0, changed.stdout + changed.stderr
        stack.wait_ready()
        after = {name: stack.container_id(name) for name in before}
        # one directory holds every service's files, so all three moved with it
        assert all(after[name] != before[name] for name in before), (before, after)
        for service in ("app", "objectstore"):
            read = stack.compose(
                stack.lib.project.exec(service, ["cat", "/run/secrets/s3_secret_key"])
            ).raise_for_status(f"reading {service}'s secret")
            assert read.stdout == new_key, service
    finally:
        env_file.write_bytes(saved)
        env_file.chmod(0o600)
        again = run_inv("up", "--no-build", env=stack.isolated.overrides())
        assert again.returncode == 0, again.stdout + again.stderr
        stack.wait_ready()
