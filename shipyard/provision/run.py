"""Connect to a VM with pyinfra (host key checked against the environment's known_hosts
only), run the provisioning deploy or only plan it, and report what changed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from pyinfra.api.config import Config
from pyinfra.api.connect import disconnect_all
from pyinfra.api.deploy import add_deploy
from pyinfra.api.exceptions import ConnectError, PyinfraError
from pyinfra.api.inventory import Inventory
from pyinfra.api.operations import run_ops
from pyinfra.api.state import BaseStateCallback, State, StateStage
from pyinfra.facts.server import Arch

from shipyard.config import Environment
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.provision.compose_plugin import plugin_for
from shipyard.provision.facts import OsRelease, PackagedCompose
from shipyard.provision.settings import VmSettings, require_supported, settings_for
from shipyard.provision.steps import Steps, provision_vm

Progress = Callable[[str, bool], None]
"""Called once per operation as it finishes: its name, and whether it changed something."""


@dataclass
class ProvisionReport:
    """What one run did (or, with dry_run, would do)."""

    env: str
    system: str
    arch: str
    dry_run: bool
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    seconds: float = 0.0


def host_data(env: Environment, settings: VmSettings) -> dict[str, Any]:
    """pyinfra's SSH connector data: the sudo user, and ONLY the environment's known_hosts
    with strict checking (an unknown or changed host key is refused, never learned)."""
    data: dict[str, Any] = {
        "ssh_user": settings.sudo_user,
        "ssh_known_hosts_file": str(env.known_hosts_file),
        "ssh_strict_host_key_checking": "yes",
        "ssh_paramiko_connect_kwargs": {"timeout": env.connect_timeout},
    }
    if env.port:
        data["ssh_port"] = env.port
    if env.ssh_key:
        data.update(
            ssh_key=str(env.path(env.ssh_key)), ssh_allow_agent=False, ssh_look_for_keys=False
        )
    return data


class _Progress(BaseStateCallback):
    """Relays each finished operation to `progress`, and remembers the first failure."""

    def __init__(self, names: dict[str, str], progress: Progress) -> None:
        self.names = names
        self.progress = progress
        self.failed: str | None = None

    def operation_end(  # type: ignore[override] # pyinfra calls it bound
        self, state: State, op_hash: Any
    ) -> None:
        name = self.names.get(op_hash)
        for ops in state.ops.values():
            meta = ops[op_hash].operation_meta if op_hash in ops else None
            if name is not None and meta is not None and meta.is_complete():
                self.progress(name, meta.did_change())

    def operation_host_error(  # type: ignore[override] # pyinfra calls it bound
        self, state: State, host: Any, op_hash: Any, *args: Any
    ) -> None:
        self.failed = self.failed or self.names.get(op_hash, str(op_hash))


def connect(env: Environment, settings: VmSettings) -> tuple[State, Any]:
    """An activated pyinfra state with the VM connected (ConfigError, exit 2, when not)."""
    if env.host is None:
        raise ConfigError(f"environment {env.name} has no host")
    if not env.known_hosts_file.is_file():
        raise ConfigError(
            f"no known_hosts file for {env.host}: {env.known_hosts_file} is missing",
            hint="add the VM's host key there after checking its fingerprint out of band "
            "(`inv sandbox.up --bare` records the sandbox's own)",
        )
    inventory = Inventory(([(env.host, host_data(env, settings))], {}))  # type: ignore[no-untyped-call]
    config = Config(SUDO=True, PARALLEL=1)  # type: ignore[no-untyped-call]
    state = State(inventory, config)
    state.set_stage(StateStage.Connect)
    host = next(iter(inventory))
    where = f"{settings.sudo_user}@{env.host}:{env.port or 22}"
    try:
        host.connect(raise_exceptions=True, show_errors=False)
    except ConnectError as exc:
        reason = str(exc.args[0] if exc.args else exc).strip()
        raise ConfigError(
            f"ssh {where}: {reason}",
            hint="check provision.user (the image's sudo user), the key, and that the host key "
            f"in {env.known_hosts_file} is the VM's",
        ) from None
    state.activate_host(host)
    return state, host


def provision(
    env: Environment, *, dry_run: bool = False, progress: Progress | None = None
) -> ProvisionReport:
    """Bring the VM of `env` to ready-for-deploy (or, with dry_run, list what would change)."""
    settings = settings_for(env)
    started = time.monotonic()
    # pyinfra's own warnings would advise `ssh-keygen -R` on ~/.ssh/known_hosts, which is
    # not the file Shipyard trusts; failures are reported by us, with the command's output.
    logging.getLogger("pyinfra").setLevel(logging.ERROR)
    state, host = connect(env, settings)
    try:
        state.set_stage(StateStage.Prepare)
        system = require_supported(host.get_fact(OsRelease), f"{env.name} ({env.host})")
        arch = str(host.get_fact(Arch))
        packaged = system.startswith("ubuntu") or host.get_fact(PackagedCompose)
        compose = None if packaged else str(plugin_for(arch))
        steps = Steps()
        add_deploy(state, provision_vm, settings, compose, steps)
        report = ProvisionReport(env.name, system, arch, dry_run)
        if dry_run:
            for name, meta in steps.ops:
                (report.changed if _will_change(state, host, meta) else report.unchanged).append(
                    name
                )
        else:
            _execute(state, host, steps, report, progress)
    finally:
        state.set_stage(StateStage.Disconnect)
        disconnect_all(state)
    report.seconds = time.monotonic() - started
    return report


def _will_change(state: State, host: Any, meta: Any) -> bool:
    """pyinfra's prediction from the VM's current facts (later steps may see more)."""
    from pyinfra.context import ctx_host, ctx_state

    with ctx_state.use(state), ctx_host.use(host):
        return bool(meta.will_change)


def _execute(
    state: State, host: Any, steps: Steps, report: ProvisionReport, progress: Progress | None
) -> None:
    names = {meta._hash: name for name, meta in steps.ops}
    relay = _Progress(names, progress or (lambda name, changed: None))
    state.add_callback_handler(relay)  # type: ignore[no-untyped-call]
    state.set_stage(StateStage.Execute)
    with suppress(PyinfraError):  # "No hosts remaining!": the callback knows where it failed
        run_ops(state)
    if relay.failed or host in state.failed_hosts:
        raise CommandFailedError(
            f"provisioning {report.env} failed at: {relay.failed or 'an operation'}",
            hint="the output above shows the command's error; fix it and run `inv provision` "
            "again (what succeeded stays done)",
        )
    for name, meta in steps.ops:
        (report.changed if meta.did_change() else report.unchanged).append(name)
