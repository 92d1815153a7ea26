"""`inv certs.issue|renew|status` for one environment: open its VM, read its edge
settings, act, close."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from shipyard.config import ShipyardConfig
from shipyard.deploy.orchestration import opened
from shipyard.deploy.preflight import require_deployable
from shipyard.edge import certs
from shipyard.edge.certinfo import CertInfo
from shipyard.edge.preflight import check_edge_settings
from shipyard.edge.settings import EdgeSettings
from shipyard.envfile.load import read_env_file
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.remote.factory import runner_for
from shipyard.vm.target import Target


@dataclass(frozen=True)
class CertReport:
    """What `inv certs.*` prints: the environment, what was done, the live certificate."""

    env: str
    action: str
    info: CertInfo | None

    def to_dict(self) -> dict[str, object]:
        """The `--json` form."""
        now = datetime.datetime.now(datetime.UTC)
        certificate = self.info.to_dict(now) if self.info else None
        return {"env": self.env, "action": self.action, "certificate": certificate}


def _settings(config: ShipyardConfig, name: str) -> tuple[Target, EdgeSettings]:
    env = config.environment(name)
    require_deployable(env)
    path = env.path(env.env_file)
    settings = check_edge_settings(read_env_file(path), path)
    if not settings.tls:
        raise ConfigError(
            f"{name}: PUBLIC_URL {settings.public_url} is not https: nginx serves no certificate",
            hint=f"set an https:// PUBLIC_URL in {env.env_file} and public_url in invoke.yaml",
        )
    return Target(env, runner_for(env)), settings


def issue_certificate(config: ShipyardConfig, name: str) -> CertReport:
    """A new certificate for the environment's names, served from the next handshake."""
    target, settings = _settings(config, name)
    with opened(target):
        outcome = certs.issue(target, settings, certs.acme_image(target))
    return CertReport(name, outcome.action, outcome.info)


def renew_certificate(config: ShipyardConfig, name: str, *, force: bool) -> CertReport:
    """Renew when a third of the lifetime is left, or now with `force`."""
    target, settings = _settings(config, name)
    with opened(target):
        outcome = certs.renew(target, settings, certs.acme_image(target), force=force)
    return CertReport(name, outcome.action, outcome.info)


def certificate_status(config: ShipyardConfig, name: str) -> CertReport:
    """The certificate nginx serves (read on the VM), changing nothing."""
    target, _ = _settings(config, name)
    with opened(target):
        info = certs.read_live(target, certs.acme_image(target))
    if info is None:
        raise CommandFailedError(
            f"{name}: nginx serves no certificate yet", hint=f"inv certs.issue --env {name}"
        )
    return CertReport(name, "status", info)
