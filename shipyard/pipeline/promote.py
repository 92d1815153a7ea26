"""Production deploys the image staging ran: the job pulls it from the environment's registry
by this commit's tag, pins it by the digest the registry answers, and gives it the local
name `inv deploy` looks for, so nothing is rebuilt."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.config import PROJECT_ROOT, Environment, ShipyardConfig
from shipyard.deploy import registry
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.images.app import read_build_info
from shipyard.remote import LocalRunner


@dataclass(frozen=True)
class Promoted:
    """The image a production deploy will ship."""

    local: str
    pinned: str


def app_image(config: ShipyardConfig, runner: LocalRunner) -> str:
    """This checkout's app image name (`docstore-app:1.3.0-3f2c9ab1d4e5`)."""
    return read_build_info(PROJECT_ROOT, runner).image_ref(config.app_name)


def pull_staged(env: Environment, local: str, runner: LocalRunner) -> Promoted:
    """Pull `local` (this commit's app image) from `env`'s registry, where staging's deploy
    pushed it, pin it by the digest the registry gave, and tag it with its local name."""
    if env.image_delivery != "registry" or not env.registry:
        raise ConfigError(
            f"environment {env.name} does not deliver through a registry",
            hint="set image_delivery: registry and registry: in invoke.yaml",
        )
    if local.endswith(("-dirty", "-dev")):
        raise ConfigError(f"{local}: a promoted image comes from a clean, committed checkout")
    by_tag = registry.registry_ref(env.registry, local)
    if not runner.run(registry.pull_argv(None, by_tag)).ok:
        raise CommandFailedError(
            f"{by_tag} is not in the registry: staging has not deployed this commit",
            hint="let deploy-staging finish for this commit, then re-run this job",
        )
    digests = runner.run(registry.repo_digests_argv(by_tag)).raise_for_status("docker inspect")
    repository = registry.registry_repository(env.registry, local)
    digest = registry.pushed_digest(digests.stdout, repository)
    pinned = registry.pinned_ref(env.registry, local, digest)
    runner.run(registry.tag_argv(pinned, local)).raise_for_status(f"docker tag {local}")
    runner.run(registry.untag_argv(by_tag))
    return Promoted(local, pinned)
