"""The Docker Compose v2 CLI plugin for a VM whose distribution does not package it
(Debian 12): this machine's own plugin binary, when it is built for the VM's architecture."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from shipyard.errors import PrerequisiteError

REMOTE_PATH = "/usr/local/lib/docker/cli-plugins/docker-compose"
PLUGIN_DIRS = (
    "~/.docker/cli-plugins",
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)
"""Where the docker CLI looks for plugins (docker/cli's default plugin dirs, in order)."""
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "aarch64"}


def elf_machine(header: bytes) -> str | None:
    """`uname -m` of a Linux ELF executable from its first 20 bytes (None if not ELF)."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    order: Literal["little", "big"] = "little" if header[5] == 1 else "big"
    return ELF_MACHINES.get(int.from_bytes(header[18:20], order))


def local_plugin(dirs: Sequence[str] = PLUGIN_DIRS) -> Path | None:
    """This machine's docker-compose plugin, by docker's own search order."""
    for directory in dirs:
        candidate = Path(os.path.expanduser(directory)) / "docker-compose"
        if candidate.is_file():
            return candidate
    return None


def plugin_for(vm_arch: str, dirs: Sequence[str] = PLUGIN_DIRS) -> Path:
    """The local plugin binary to upload to a VM of `vm_arch` (`uname -m`), or
    PrerequisiteError saying how to get one."""
    plugin = local_plugin(dirs)
    if plugin is None:
        raise PrerequisiteError(
            "no Docker Compose v2 plugin on this machine to install on the VM",
            hint="run ./scripts/bootstrap (it installs one)",
        )
    with plugin.open("rb") as binary:
        machine = elf_machine(binary.read(20))
    if machine != vm_arch:
        raise PrerequisiteError(
            f"the VM is {vm_arch} but this machine's Compose plugin {plugin} is "
            f"{machine or 'not a Linux executable'}",
            hint="on Debian 12 arm64, install Docker's docker-compose-plugin package on the VM "
            "first (docs/provision.md)",
        )
    return plugin
