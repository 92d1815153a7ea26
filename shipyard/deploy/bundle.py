"""The release bundle: compose files, nginx config, release.json and the env file (0600;
without the deployer-only variables such as the registry login),
packed as a tar in memory (a few KiB) and unpacked on the VM into releases/.tmp-ID, then
renamed into place, so a release directory is either complete or absent."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path

from shipyard.config import PROJECT_ROOT, Environment
from shipyard.deploy.plan import deploy_variables, release_env_text, unpack_bundle_argv
from shipyard.envfile.upload import for_vm
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
    files["release.json"] = (facts.to_json().encode(), 0o644)
    files[".env"] = (release_env_text(for_vm(env_text), variables).encode(), 0o600)
    return files


def pack(files: Mapping[str, tuple[bytes, int]], mtime: float = 0.0) -> bytes:
    """A tar of the files, all dated `mtime` (directories 0755)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directories = sorted({str(Path(name).parent) for name in files} - {"."})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(info)
        for name, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, mtime
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def upload(target: Target, facts: ReleaseFacts, env_text: str) -> None:
    """Unpack the release's bundle on the VM, complete or not at all."""
    variables = deploy_variables(facts.images, target.layout)
    data = pack(bundle_files(target.env, facts, env_text, variables), time.time())
    argv = unpack_bundle_argv(target.layout, facts.release)
    target.runner.stream_in(argv, [data]).raise_for_status("uploading the release bundle")
