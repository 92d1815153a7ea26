"""Certificates on a VM: issue, renew and read the one nginx serves (`inv certs.*`, and the
first deploy of an https environment).

lego (shipyard.edge.acme) runs on the VM in a container. When the ACME directory is on
this machine's loopback (the sandbox's Pebble), an SSH reverse tunnel puts it on the VM's
127.0.0.1 under the same port. A failed challenge leaves live/edge.pem, and so what nginx
serves, as it was.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shipyard import console
from shipyard.edge.acme import (
    CertsLayout,
    install_pem_argv,
    lego_argv,
    prepare_argv,
    read_pem_argv,
    renew_days,
    renew_script,
    write_file_argv,
)
from shipyard.edge.certinfo import CertInfo, byo_problem, certificate_info
from shipyard.edge.settings import EdgeSettings
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.vm.target import Target

ACME_TIMEOUT = 300.0
FORCE_DAYS = 100000
"""lego's `--days` that renews whatever is left."""
LOOPBACK = ("127.0.0.1", "localhost", "::1")
_LEGO_ERROR = re.compile(r"(?:error|Error|urn:ietf:params:acme:error:\w+)[^\n]*")


@dataclass(frozen=True)
class CertOutcome:
    """What an issue or renewal did."""

    action: str  # issued, renewed, not-due, installed
    info: CertInfo | None


def certs_layout(target: Target) -> CertsLayout:
    """shared/certs of the target's deploy path."""
    return CertsLayout(f"{target.layout.shared}/certs")


def acme_image(target: Target) -> str:
    """The ACME client image the current release shipped (ACME_IMAGE in its .env)."""
    env_file = f"{target.layout.current}/.env"
    found = target.probe(["sed", "-n", "s/^ACME_IMAGE=//p", env_file]).stdout.strip()
    if not found:
        raise ConfigError(
            f"{target.env.name} has no release with an ACME client image ({env_file})",
            hint=f"deploy first: inv deploy --env {target.env.name}",
        )
    return found.splitlines()[-1].strip("'\"")


def read_live(target: Target, image: str) -> CertInfo | None:
    """The certificate nginx serves (live/edge.pem), or None when there is none yet."""
    pem = target.run(read_pem_argv(image, certs_layout(target)), "reading the certificate")
    if "BEGIN CERTIFICATE" not in pem.stdout:
        return None
    return certificate_info(pem.stdout.encode())


def _prepare(target: Target, settings: EdgeSettings) -> None:
    layout = certs_layout(target)
    target.run(prepare_argv(layout), "creating shared/certs")
    if settings.acme_ca_file:
        ca = Path(settings.acme_ca_file).read_bytes()
        argv = write_file_argv(layout.acme_ca, "0644")
        target.runner.stream_in(argv, [ca]).raise_for_status("uploading ACME_CA_FILE")


def _write_renew_script(target: Target, settings: EdgeSettings, info: CertInfo | None) -> None:
    """renew.sh for the VM's acme service, renewing at a third of `info`'s lifetime."""
    if info is None:
        return
    text = renew_script(
        settings.acme_directory,
        settings.names,
        settings.acme_email,
        renew_days(info.lifetime_days),
        bool(settings.acme_ca_file),
    )
    argv = write_file_argv(certs_layout(target).renew_script, "0644")
    target.runner.stream_in(argv, [text.encode()]).raise_for_status("writing renew.sh")


@contextlib.contextmanager
def _reachable(target: Target, directory: str) -> Iterator[None]:
    """A directory on this machine's loopback is tunnelled to the VM's, same port."""
    parts = urlsplit(directory)
    if parts.hostname not in LOOPBACK or not hasattr(target.runner, "forward_remote"):
        yield
        return
    port = parts.port or 443
    with target.runner.forward_remote(port, port):
        yield


def _lego(target: Target, settings: EdgeSettings, image: str, days: int | None) -> str:
    argv = lego_argv(
        image,
        certs_layout(target),
        directory=settings.acme_directory,
        names=settings.names,
        email=settings.acme_email,
        days=days,
        test_ca=bool(settings.acme_ca_file),
    )
    with _reachable(target, settings.acme_directory):
        result = target.probe(argv, timeout=ACME_TIMEOUT)
    if not result.ok:
        raise CommandFailedError(
            f"certificate for {', '.join(settings.names)} from {settings.acme_directory}: "
            f"{lego_failure(result.stdout + result.stderr)}",
            hint="the name must point at this VM and port 80 must reach its nginx",
        )
    return result.stdout + result.stderr


def lego_failure(output: str) -> str:
    """The line of lego's output that says why it failed (the last error it logged)."""
    lines = [line for line in output.splitlines() if _LEGO_ERROR.search(line)]
    if not lines:
        tail = [line for line in output.splitlines() if line.strip()]
        return tail[-1].strip() if tail else "lego failed with no output"
    line = re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", "", lines[-1]).strip()
    match = re.search(r"\[(?P<name>[^\]]+)\] (?P<rest>.*)", line)
    return f"{match['name']}: {match['rest']}" if match else line


def _byo(target: Target, settings: EdgeSettings, image: str) -> CertOutcome:
    cert = Path(settings.cert_file).read_bytes()
    key = Path(settings.key_file).read_bytes()
    now = datetime.datetime.now(datetime.UTC)
    problem = byo_problem(cert, key, settings.names, now)
    if problem:
        raise ConfigError(f"TLS_CERT_FILE {settings.cert_file}: {problem}")
    layout = certs_layout(target)
    source = f"{layout.root}/byo.pem"
    argv = write_file_argv(source, "0600")
    joined = key.rstrip(b"\n") + b"\n" + cert
    target.runner.stream_in(argv, [joined]).raise_for_status("uploading the certificate")
    target.run(install_pem_argv(image, layout, source), "installing the certificate")
    return CertOutcome("installed", certificate_info(cert))


def issue(target: Target, settings: EdgeSettings, image: str) -> CertOutcome:
    """A new certificate for the environment's names (or the brought one installed)."""
    _prepare(target, settings)
    if settings.bring_your_own:
        return _byo(target, settings, image)
    with console.status(f"ACME: certificate for {', '.join(settings.names)}"):
        _lego(target, settings, image, None)
    info = read_live(target, image)
    _write_renew_script(target, settings, info)
    return CertOutcome("issued", info)


def renew(target: Target, settings: EdgeSettings, image: str, *, force: bool) -> CertOutcome:
    """Renew when a third of the lifetime is left (or `force`); a certificate that is
    missing or lacks a name is issued anew."""
    if settings.bring_your_own:
        return issue(target, settings, image)
    live = read_live(target, image)
    if live is None or not all(live.covers(name) for name in settings.names):
        return issue(target, settings, image)
    now = datetime.datetime.now(datetime.UTC)
    if not force and not live.renewal_due(now):
        return CertOutcome("not-due", live)
    _prepare(target, settings)
    days = FORCE_DAYS if force else renew_days(live.lifetime_days)
    with console.status(f"ACME: renewing {', '.join(settings.names)}"):
        _lego(target, settings, image, days)
    info = read_live(target, image)
    _write_renew_script(target, settings, info)
    return CertOutcome("renewed", info)


RENEWER_SERVICE = "acme"


def start_renewer_argv(target: Target, release: str) -> list[str]:
    """Start the release's `acme` service (the VM's own renewals) if it is not running."""
    base = target.project(release).base()
    return [*base, "up", "--detach", "--no-deps", "--no-recreate", RENEWER_SERVICE]


def ensure(target: Target, settings: EdgeSettings, image: str) -> CertOutcome | None:
    """For a deploy: a certificate covering every name, issued when there is none (the
    first deploy) or it lacks a name; None when the environment is not https."""
    if not settings.tls:
        return None
    live = read_live(target, image)
    if settings.bring_your_own or live is None or not all(map(live.covers, settings.names)):
        return issue(target, settings, image)
    return CertOutcome("kept", live)
