"""pyinfra operations of our own: each compares a fact with what is wanted and yields the
commands that close the gap, nothing when there is none (so a second run changes nothing)."""

from __future__ import annotations

import hashlib
import io
import shlex
from collections.abc import Generator

from pyinfra.api.command import FileUploadCommand, StringCommand
from pyinfra.api.operation import operation
from pyinfra.context import host
from pyinfra.facts.files import Sha256File

from shipyard.provision.facts import FirewallState, SwapMb


def sshd_swap_script(path: str, staged: str) -> str:
    """Shell that installs `staged` as sshd drop-in `path` only if `sshd -t` accepts it,
    checking it BEFORE it is in place and again after; on a rejection the previous file is
    put back and sshd is not reloaded, so a bad setting never locks anyone out."""
    p, s = shlex.quote(path), shlex.quote(staged)
    return f"""set -e
probe=$(mktemp)
printf 'Include %s\\nInclude /etc/ssh/sshd_config\\n' {s} >"$probe"
if ! sshd -t -f "$probe"; then
    rm -f "$probe" {s}
    echo "sshd -t rejected the new sshd settings; nothing changed" >&2
    exit 1
fi
rm -f "$probe"
if [ -f {p} ]; then cp -p {p} {p}.previous; else rm -f {p}.previous; fi
mv {s} {p}
if ! sshd -t; then
    if [ -f {p}.previous ]; then mv {p}.previous {p}; else rm -f {p}; fi
    echo "sshd -t rejected the installed sshd settings; the previous ones are back" >&2
    exit 1
fi
rm -f {p}.previous
if [ -d /run/systemd/system ]; then
    systemctl try-reload-or-restart ssh.service
else
    service ssh reload
fi"""


@operation()
def sshd_drop_in(path: str, content: str) -> Generator[object, None, None]:
    """The sshd drop-in `path` holds `content`, validated with `sshd -t`, sshd reloaded."""
    wanted = hashlib.sha256(content.encode()).hexdigest()
    if host.get_fact(Sha256File, path=path) == wanted:
        return
    staged = f"{path}.new"
    yield FileUploadCommand(io.BytesIO(content.encode()), staged)
    yield StringCommand(f"chmod 0644 {shlex.quote(staged)}")
    yield StringCommand(sshd_swap_script(path, staged))


@operation()
def firewall_applied(script: str) -> Generator[str, None, None]:
    """The live firewall rules are those of `script` (applied again on any drift)."""
    if host.get_fact(FirewallState, script=script) != "in-sync":
        yield f"{script} apply"


def swapfile_script(path: str, size_mb: int) -> str:
    """Shell that creates, enables and persists a swap file."""
    p = shlex.quote(path)
    return (
        f"set -e; fallocate -l {size_mb}M {p} || dd if=/dev/zero of={p} bs=1M count={size_mb}; "
        f"chmod 0600 {p}; mkswap {p} >/dev/null; swapon {p}; "
        f"grep -q '^{path} ' /etc/fstab || echo '{path} none swap sw 0 0' >>/etc/fstab"
    )


@operation()
def swapfile(path: str, size_mb: int) -> Generator[str, None, None]:
    """A swap file of `size_mb` when the VM has no swap at all."""
    if host.get_fact(SwapMb) == 0:
        yield swapfile_script(path, size_mb)
