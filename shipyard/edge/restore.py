"""`inv certs.restore`: put the certificate state a backup saved (certs.tar: the ACME
account, lego's certificates, the served edge.pem, renew.sh) back into a VM's
shared/certs.

What it is for: a VM rebuilt after a loss keeps its ACME account (and so its rate-limit
history with the CA), a brought certificate comes back without its files, and a
certificate replaced by mistake can be put back. The archive is checked before anything
on the VM changes: its sha256 against the manifest, its members (only what
`shipyard.edge.backup` archives, no links, no paths outside), and its certificate (not
expired, covering every name of the environment). On the VM the current state is kept
first as `shared/certs/before-restore-<time>.tar` (0600); then each member is moved into
place by a rename, so a handshake reads the old edge.pem or the new one, never none.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import re
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shipyard.backup.catalog import Catalog
from shipyard.backup.context import open_backup
from shipyard.backup.manifest import Manifest
from shipyard.backup.streams import read_exactly
from shipyard.config import ShipyardConfig
from shipyard.edge.acme import CONTAINER_CERTS, CertsLayout
from shipyard.edge.backup import CERTS_TAR, MEMBERS
from shipyard.edge.certinfo import CertInfo, certificate_info, serving_problem
from shipyard.edge.certs import acme_image, certs_layout, read_live
from shipyard.edge.nginx_conf import EDGE_PEM
from shipyard.edge.preflight import check_edge_settings
from shipyard.envfile.load import read_env_file
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.oneoff import offline_sh_argv
from shipyard.vm.target import Target

MAX_ARCHIVE = 64 << 20
"""certs.tar holds a few keys and certificates; anything bigger is not one."""
_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", re.DOTALL)
_STAGE = f"{CONTAINER_CERTS}/.restore"
_SWAP_IN = (
    'set -e; umask 077; stamp="$1"; stage={stage}; '
    'rm -rf "$stage"; mkdir "$stage"; tar -x -C "$stage"; '
    "cd {certs}; set --; for f in {members}; do "
    '[ -e "$f" ] && set -- "$@" "$f"; done; '
    # the safety copy is complete under its final name before anything is replaced
    'if [ "$#" -gt 0 ]; then tar -c "$@" > "before-restore-$stamp.tar.tmp"; '
    'mv -f "before-restore-$stamp.tar.tmp" "before-restore-$stamp.tar"; fi; '
    'if [ -d "$stage/acme" ]; then rm -rf acme.old; [ ! -e acme ] || mv acme acme.old; '
    'mv "$stage/acme" acme; rm -rf acme.old; fi; '
    "for f in renew.sh byo.pem acme-ca.pem; do "
    '[ ! -e "$stage/$f" ] || mv -f "$stage/$f" "$f"; done; '
    # live/ stays readable by nginx; edge.pem keeps its owner (nginx) and mode (0600)
    'if [ -f "$stage/live/{pem}" ]; then (umask 022; mkdir -p live); '
    'mv -f "$stage/live/{pem}" "live/{pem}"; fi; '
    'rm -rf "$stage"'
)


@dataclass(frozen=True)
class CertsArchive:
    """A checked certs.tar: its bytes, its top-level members and its certificate."""

    data: bytes
    members: tuple[str, ...]
    info: CertInfo | None


@dataclass(frozen=True)
class CertsRestorePlan:
    """What `inv certs.restore` will put back, shown before anything changes."""

    env: str
    backup_id: str
    archive: CertsArchive
    served: CertInfo | None

    def lines(self, now: datetime.datetime) -> list[str]:
        """The plan as readable lines."""
        lines = [f"backup {self.backup_id}: {CERTS_TAR} with {', '.join(self.archive.members)}"]
        lines.append(f"puts back {_describe(self.archive.info, now)}")
        lines.append(f"replaces {_describe(self.served, now)} (kept in shared/certs first)")
        return lines


@dataclass(frozen=True)
class CertsRestoreReport:
    """A finished certificate restore."""

    env: str
    backup_id: str
    served: CertInfo | None

    def to_dict(self, now: datetime.datetime) -> dict[str, object]:
        """The `--json` form."""
        served = self.served.to_dict(now) if self.served else None
        return {"env": self.env, "backup": self.backup_id, "certificate": served}


def _describe(info: CertInfo | None, now: datetime.datetime) -> str:
    if info is None:
        return "no served certificate"
    return (
        f"certificate for {', '.join(info.names)} from {info.issuer}, not after"
        f" {info.not_after:%Y-%m-%d %H:%M} UTC ({info.days_left(now):.1f} days left)"
    )


def read_archive(data: bytes, where: str) -> CertsArchive:
    """Parse and check certs.tar: only regular files and directories under the members
    `inv backup` archives; its edge.pem's leaf certificate. CommandFailedError otherwise."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            entries = tar.getmembers()
            pem = _read_member(tar, f"live/{EDGE_PEM}")
    except tarfile.TarError as exc:
        raise CommandFailedError(f"{where}: not a tar archive ({exc})") from None
    tops: list[str] = []
    for entry in entries:
        name = entry.name
        top = name.split("/", 1)[0]
        unsafe = name.startswith("/") or ".." in name.split("/") or top not in MEMBERS
        if unsafe or not (entry.isfile() or entry.isdir()):
            raise CommandFailedError(f"{where}: unexpected member {name!r}: not a certs backup")
        if top not in tops:
            tops.append(top)
    info = None
    if pem is not None:
        leaf = _CERTIFICATE.search(pem)
        if leaf is None:
            raise CommandFailedError(f"{where}: live/{EDGE_PEM} holds no certificate")
        info = certificate_info(leaf.group(0))
    return CertsArchive(data, tuple(tops), info)


def _read_member(tar: tarfile.TarFile, name: str) -> bytes | None:
    try:
        member = tar.getmember(name)
    except KeyError:
        return None
    handle = tar.extractfile(member)
    return handle.read() if handle else None


def archive_problem(
    info: CertInfo | None, names: Sequence[str], now: datetime.datetime
) -> str | None:
    """Why the archive's certificate must not be served here, or None when it may (an
    archive with no certificate, an ACME account alone, may)."""
    problem = serving_problem(info, names, now) if info else None
    return f"its certificate: {problem}" if problem else None


def swap_in_argv(image: str, layout: CertsLayout, stamp: str) -> list[str]:
    """`docker run -i` of the ACME image (root, no network) that reads certs.tar on stdin
    into shared/certs: a staging directory, the safety tar, then a rename per member."""
    script = _SWAP_IN.format(
        stage=_STAGE, certs=CONTAINER_CERTS, members=" ".join(MEMBERS), pem=EDGE_PEM
    )
    return offline_sh_argv(
        image, script, [stamp], volumes=[f"{layout.root}:{CONTAINER_CERTS}"], interactive=True
    )


def fetch_archive(catalog: Catalog, manifest: Manifest) -> CertsArchive:
    """Download, decrypt and check the backup's certs.tar against its manifest."""
    entry = manifest.certs
    if not entry:
        raise ConfigError(
            f"backup {manifest.id} holds no certificates (taken without https, or before"
            " certificates were backed up)",
            hint=f"pick another with `inv backup.list --env {manifest.env}`",
        )
    key = catalog.path(manifest.id, CERTS_TAR)
    with catalog.reading(key) as stream:
        data = read_exactly(stream, MAX_ARCHIVE)
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise CommandFailedError(f"{key}: its sha256 does not match the manifest: damaged")
    return read_archive(data, key)


def restore_certificates(
    config: ShipyardConfig,
    name: str,
    ref: str,
    approve: Callable[[CertsRestorePlan], bool],
) -> CertsRestoreReport | None:
    """Check the backup's certs.tar, show the plan through `approve` (False: stop, None is
    returned, nothing changed), then put it back on the VM and read what nginx serves."""
    env = config.environment(name)
    if env.is_local or not env.deploy_path:
        raise ConfigError(f"{name} is not a VM: only a VM's edge has certificates to restore")
    path = env.path(env.env_file)
    settings = check_edge_settings(read_env_file(path), path)
    now = datetime.datetime.now(datetime.UTC)
    with open_backup(config, name) as ctx:
        manifest = ctx.catalog.resolve(ref)
        ctx.catalog.require_key_for(manifest)
        archive = fetch_archive(ctx.catalog, manifest)
        problem = archive_problem(archive.info, settings.names, now)
        if problem:
            raise ConfigError(
                f"backup {manifest.id}'s {CERTS_TAR}: {problem}",
                hint=f"get a new one with `inv certs.issue --env {name}`",
            )
        target = Target(env, ctx.site.runner)
        image = acme_image(target)
        plan = CertsRestorePlan(name, manifest.id, archive, read_live(target, image))
        if not approve(plan):
            return None
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        argv = swap_in_argv(image, certs_layout(target), stamp)
        target.runner.stream_in(argv, [archive.data]).raise_for_status(
            f"putting {CERTS_TAR} back into {certs_layout(target).root}"
        )
        return CertsRestoreReport(name, manifest.id, read_live(target, image))
