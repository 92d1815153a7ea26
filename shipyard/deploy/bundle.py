"""The release bundle: compose files, nginx config, release.json, the env file (0600;
without the deployer-only variables such as the registry login) and the secret files the
containers mount (secrets/SERVICE/NAME: 0600, then given to the service's user, 0400),
packed as a tar in memory (a few KiB) and unpacked on the VM into releases/.tmp-ID, then
renamed into place, so a release directory is either complete or absent."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path

from shipyard import secretfiles
from shipyard.backup.target import encryption_key
from shipyard.config import PROJECT_ROOT, Environment
from shipyard.deploy.plan import deploy_variables, release_env_text, unpack_bundle_argv
from shipyard.edge.nginx_conf import LOCAL_NGINX, render_docstore_conf
from shipyard.edge.nginx_version import image_nginx_version
from shipyard.edge.policy import edge_policy
from shipyard.edge.settings import edge_settings
from shipyard.envfile.load import interpolate, parse_env_text
from shipyard.envfile.upload import for_vm
from shipyard.monitoring import vm as monitoring
from shipyard.vm.releases import ReleaseFacts
from shipyard.vm.target import Target

NGINX_DIR = PROJECT_ROOT / "nginx"


def bundle_files(
    env: Environment, facts: ReleaseFacts, env_text: str, variables: Mapping[str, str]
) -> dict[str, tuple[bytes, int]]:
    """Every file of the bundle: name -> (content, mode)."""
    files: dict[str, tuple[bytes, int]] = {}
    for compose_file in env.compose_files:
        files[f"compose/{compose_file.name}"] = (env.path(compose_file).read_bytes(), 0o644)
    files["nginx/nginx.conf"] = ((NGINX_DIR / "nginx.conf").read_bytes(), 0o644)
    for conf in sorted((NGINX_DIR / "conf.d").glob("*.conf")):
        files[f"nginx/conf.d/{conf.name}"] = (conf.read_bytes(), 0o644)
    files["nginx/conf.d/docstore.conf"] = (edge_conf(env_text, facts.images).encode(), 0o644)
    files["release.json"] = (facts.to_json().encode(), 0o644)
    files[".env"] = (release_env_text(for_vm(env_text), variables).encode(), 0o600)
    values = interpolate(parse_env_text(env_text).entries)
    key = encryption_key(values, env.path(env.env_file))
    for secret, content in secretfiles.contents(values, key).items():
        files[f"secrets/{secret.path}"] = (content, 0o600)
    return files


def edge_conf(env_text: str, images: Mapping[str, str]) -> str:
    """conf.d/docstore.conf rendered for the env file's edge settings, in the syntax of
    the nginx image the release runs."""
    values = interpolate(parse_env_text(env_text).entries)
    settings = edge_settings(values)
    nginx = images.get("NGINX_IMAGE")
    version = image_nginx_version(nginx) if nginx and settings.tls else LOCAL_NGINX
    return render_docstore_conf(settings, version, edge_policy(values))


def pack(files: Mapping[str, tuple[bytes, int]], mtime: float = 0.0) -> bytes:
    """A tar of the files, all dated `mtime` (directories 0755)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        parents = {str(parent) for name in files for parent in Path(name).parents}
        directories = sorted(parents - {"."})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, _dir_mode(files, directory), mtime
            tar.addfile(info)
        for name, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, mtime
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _dir_mode(files: Mapping[str, tuple[bytes, int]], directory: str) -> int:
    """0700 for a directory holding only private files (the secrets), else 0755."""
    below = [mode for name, (_, mode) in files.items() if name.startswith(directory + "/")]
    return 0o700 if all(mode & 0o077 == 0 for mode in below) else 0o755


def upload(
    target: Target,
    facts: ReleaseFacts,
    env_text: str,
    profile: monitoring.Plan | None = None,
) -> None:
    """Unpack the release's bundle on the VM, complete or not at all, then give each secret
    file to its service's user, and the data services theirs in shared/secrets the first
    time (a one-off container of the app image: the deploy user is not root). With
    `profile`, the monitoring profile's files are in it too (shipyard.monitoring.vm)."""
    secrets_dir = target.layout.secrets(facts.release)
    variables = {
        **deploy_variables(facts.images, target.layout),
        secretfiles.SECRETS_DIR_VARIABLE: secrets_dir,
        secretfiles.DATA_SECRETS_DIR_VARIABLE: target.layout.shared_secrets,
    }
    if profile is not None:
        variables.update(
            monitoring.compose_variables(target.layout, facts.release, profile.textfile)
        )
    files = bundle_files(target.env, facts, env_text, variables)
    if profile is not None:
        values = interpolate(parse_env_text(env_text).entries)
        files.update(monitoring.bundle_files(target.env, values, profile.services))
    data = pack(files, time.time())
    argv = unpack_bundle_argv(target.layout, facts.release)
    target.runner.stream_in(argv, [data]).raise_for_status("uploading the release bundle")
    argv = secretfiles.own_argv(secrets_dir, target.layout.shared, facts.app_image)
    target.run(argv, "owning the secret files")
    if profile is not None:
        argv = monitoring.own_argv(target.layout, facts.release, facts.app_image)
        target.run(argv, "owning the monitoring profile's files")
