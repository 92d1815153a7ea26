"""The ACME client's command lines on the VM (lego in a container). Pure.

Everything lives in the VM's shared/certs, outside releases:

    shared/certs/acme/      lego's state: the account key, the issued certificates
    shared/certs/webroot/   HTTP-01 tokens (nginx serves them on port 80)
    shared/certs/live/      edge.pem, the certificate nginx serves (key + chain, 0600)
    shared/certs/acme-ca.pem    the CA of a test ACME server's own HTTPS (sandbox only)

lego runs with the host's network (it only makes outgoing connections, and reaches a
tunnelled test server on the VM's 127.0.0.1), as root in its container, so it can hand
edge.pem to nginx's user (101) with mode 0600. edge.pem is replaced by a rename: a
handshake reads the old file or the new one, never half of one.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from shipyard.edge.nginx_conf import EDGE_PEM
from shipyard.oneoff import offline_sh_argv

NGINX_UID = 101
CONTAINER_CERTS = "/certs"
KEY_TYPE = "ec256"


@dataclass(frozen=True)
class CertsLayout:
    """shared/certs on the VM."""

    root: str

    @property
    def acme(self) -> str:
        return posixpath.join(self.root, "acme")

    @property
    def webroot(self) -> str:
        return posixpath.join(self.root, "webroot")

    @property
    def live(self) -> str:
        return posixpath.join(self.root, "live")

    @property
    def edge_pem(self) -> str:
        return posixpath.join(self.live, EDGE_PEM)

    @property
    def acme_ca(self) -> str:
        return posixpath.join(self.root, "acme-ca.pem")

    @property
    def renew_script(self) -> str:
        return posixpath.join(self.root, "renew.sh")


def renew_days(lifetime_days: float) -> int:
    """lego's `--days` for renewing when a third of the lifetime remains (at least 1)."""
    return max(1, int(lifetime_days / 3 + 0.999))


def prepare_argv(layout: CertsLayout) -> list[str]:
    """Create shared/certs (0700 for lego's state, the webroot and live readable by nginx)."""
    script = (
        'set -e; umask 022; mkdir -p "$1/webroot/.well-known/acme-challenge" "$1/live"; '
        'umask 077; mkdir -p "$1/acme"'
    )
    return ["sh", "-c", script, "sh", layout.root]


INSTALL = (
    'dst="/certs/live/{pem}"; '
    'if ! cmp -s "$src" "$dst" 2>/dev/null; then '
    'cp "$src" "$dst.tmp" && chown {uid}:{uid} "$dst.tmp" && chmod 600 "$dst.tmp" '
    '&& mv -f "$dst.tmp" "$dst" && echo "installed: $dst"; fi'
)
"""Shell run in the ACME container: copy the PEM `$src` to live/edge.pem (owner nginx,
0600) by a rename, when it differs."""


def _lego_flags(directory: str, names: Sequence[str], email: str) -> list[str]:
    flags = ["--server", directory, "--accept-tos", "--path", f"{CONTAINER_CERTS}/acme"]
    flags += ["--http", "--http.webroot", f"{CONTAINER_CERTS}/webroot", "--key-type", KEY_TYPE]
    flags += ["--pem"]
    if email:
        flags += ["--email", email]
    for name in names:
        flags += ["--domains", name]
    return flags


def _after_lego(names: Sequence[str]) -> str:
    """Shell after a successful lego: keys 0600, edge.pem installed from lego's PEM."""
    pem = f"{CONTAINER_CERTS}/acme/certificates/{names[0].replace('*', '_')}.pem"
    return (
        f"find {CONTAINER_CERTS}/acme -type f -name '*.key' -exec chmod 600 {{}} +; "
        f"src={shlex.quote(pem)}; " + INSTALL.format(pem=EDGE_PEM, uid=NGINX_UID)
    )


def lego_argv(
    image: str,
    layout: CertsLayout,
    *,
    directory: str,
    names: Sequence[str],
    email: str,
    days: int | None,
    test_ca: bool,
) -> list[str]:
    """`docker run` of lego: `run` (a new certificate) when `days` is None, else `renew`
    when at most `days` days are left; then edge.pem installed from lego's PEM.

    A renewal asked for by a person starts at once (`--no-random-sleep`: lego otherwise
    waits up to 8 minutes when it has no terminal); the VM's own timer keeps the wait."""
    flags = _lego_flags(directory, names, email)
    action = ["run"] if days is None else ["renew", "--days", str(days), "--no-random-sleep"]
    script = 'set -e; /lego "$@"; ' + _after_lego(names)
    docker = ["docker", "run", "--rm", "--network", "host"]
    docker += ["--volume", f"{layout.root}:{CONTAINER_CERTS}"]
    if test_ca:
        docker += ["--env", f"LEGO_CA_CERTIFICATES={CONTAINER_CERTS}/acme-ca.pem"]
    docker += ["--entrypoint", "sh", image, "-c", script, "sh"]
    return [*docker, *flags, *action]


def renew_script(directory: str, names: Sequence[str], email: str, days: int, test_ca: bool) -> str:
    """renew.sh for the VM's `acme` service: `lego renew` when at most `days` days are left
    (a third of the current certificate's lifetime; rewritten at every issue or renewal),
    with lego's random wait kept, then edge.pem installed when it changed."""
    flags = " ".join(shlex.quote(flag) for flag in _lego_flags(directory, names, email))
    ca = f"export LEGO_CA_CERTIFICATES={CONTAINER_CERTS}/acme-ca.pem\n" if test_ca else ""
    return (
        "#!/bin/sh\n"
        "# Written by Shipyard (`inv certs.*`, `inv deploy`); run by the VM's acme service.\n"
        "set -e\n"
        f"{ca}"
        f"/lego {flags} renew --days {days}\n"
        f"{_after_lego(names)}\n"
    )


def write_file_argv(path: str, mode: str) -> list[str]:
    """Write standard input to `path` (a temporary name, then a rename) with `mode`."""
    script = 'set -e; cat > "$1.tmp"; chmod "$2" "$1.tmp"; mv -f "$1.tmp" "$1"'
    return ["sh", "-c", script, "sh", path, mode]


def install_pem_argv(image: str, layout: CertsLayout, source: str) -> list[str]:
    """Install `source` (a PEM under shared/certs, key + chain) as live/edge.pem."""
    relative = posixpath.relpath(source, layout.root)
    script = 'set -e; src="$1"; ' + INSTALL.format(pem=EDGE_PEM, uid=NGINX_UID)
    return offline_sh_argv(
        image,
        script,
        [f"{CONTAINER_CERTS}/{relative}"],
        volumes=[f"{layout.root}:{CONTAINER_CERTS}"],
    )


def read_pem_argv(image: str, layout: CertsLayout) -> list[str]:
    """Print the certificates of live/edge.pem (no key) on stdout; nothing when absent."""
    script = (
        f'f=/certs/live/{EDGE_PEM}; [ -f "$f" ] || exit 0; '
        "sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' \"$f\""
    )
    return offline_sh_argv(image, script, volumes=[f"{layout.root}:{CONTAINER_CERTS}:ro"])
