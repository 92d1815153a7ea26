"""shared/certs in `inv backup`: the ACME account key, lego's certificates, the served
edge.pem and renew.sh, as one tar beside the dump (encrypted like everything else when a
key is set). The files are root's and nginx's (0600), so the tar is made in a throwaway
container of the ACME image the release shipped."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from shipyard.backup.catalog import Catalog
from shipyard.backup.streams import read_exactly
from shipyard.config import Environment
from shipyard.edge.acme import CONTAINER_CERTS
from shipyard.edge.certs import acme_image, certs_layout
from shipyard.oneoff import offline_sh_argv
from shipyard.remote import Runner
from shipyard.vm.target import Target

CERTS_TAR = "certs.tar"
MEMBERS = ("acme", "live", "renew.sh", "byo.pem", "acme-ca.pem")
_ARCHIVE = (
    f"cd {CONTAINER_CERTS}; set --; for f in {' '.join(MEMBERS)}; do "
    '[ -e "$f" ] && set -- "$@" "$f"; done; [ "$#" -gt 0 ] || exit 0; tar -c "$@"'
)


def archive_argv(image: str, root: str) -> list[str]:
    """tar of shared/certs's state on stdout (nothing when there is none)."""
    return offline_sh_argv(image, _ARCHIVE, volumes=[f"{root}:{CONTAINER_CERTS}:ro"])


def save_certificates(
    catalog: Catalog, backup_id: str, env: Environment, runner: Runner
) -> dict[str, Any] | None:
    """Upload certs.tar of a VM's shared/certs; its manifest entry, or None when the
    environment has no certificate state (http, or never deployed with https)."""
    if not env.deploy_path or not env.public_url.startswith("https://"):
        return None
    target = Target(env, runner)
    argv = archive_argv(acme_image(target), certs_layout(target).root)
    with runner.stream_out(argv) as stream:
        data = stream.read()
    if not data:
        return None
    sealed = read_exactly(catalog.sealed(io.BytesIO(data)), 1 << 40)
    catalog.bucket.put_bytes(
        catalog.path(backup_id, CERTS_TAR),
        sealed,
        metadata=catalog.write_metadata,
        content_type="application/x-tar",
    )
    return {"file": CERTS_TAR, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
