"""What `inv provision` sets up on an environment's VM, from invoke.yaml (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shipyard.config import Environment, ProvisionConfig
from shipyard.errors import ConfigError, RefusedError

SSH_PORT = 22
"""sshd's port on the VM (the environment's `port` may be a forward to it)."""
WEB_PORTS = (80, 443)
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
"""node-exporter's textfile directory on Debian and Ubuntu (--collector.textfile.directory)."""
SUPPORTED = {"debian": ("12",), "ubuntu": ("22.04", "24.04")}
ORACLE_LINUX_USER = "opc"


@dataclass(frozen=True)
class VmSettings:
    """Everything the provisioning deploy needs to know about one VM."""

    sudo_user: str
    deploy_user: str
    deploy_path: str
    authorized_key: str
    web_ports: tuple[int, ...]
    time_servers: tuple[str, ...] = ()
    swap_mb: int = 2048
    small_vm_mb: int = 4096
    textfile_dir: str = TEXTFILE_DIR

    @property
    def admitted_ports(self) -> tuple[int, ...]:
        """TCP ports the firewall admits from outside: SSH and the web ports."""
        return (SSH_PORT, *self.web_ports)


def web_ports(public_url: str) -> tuple[int, ...]:
    """80 and 443, plus the public URL's own port when it names another one."""
    port = urlsplit(public_url).port
    return WEB_PORTS if port is None or port in WEB_PORTS else (*WEB_PORTS, port)


def public_key_of(env: Environment) -> str:
    """The deploy user's authorized key: the `.pub` beside the environment's ssh_key."""
    if env.ssh_key is None:
        raise ConfigError(
            f"invoke.yaml: environment {env.name} needs ssh_key for `inv provision`",
            hint="its .pub file becomes the deploy user's only authorized key",
        )
    public = Path(f"{env.path(env.ssh_key)}.pub")
    try:
        text = public.read_text(encoding="utf-8").strip()
    except OSError:
        raise ConfigError(
            f"{public}: not found (the deploy user's public key)",
            hint=f"ssh-keygen -y -f {env.path(env.ssh_key)} > {public}",
        ) from None
    if not text.startswith(("ssh-", "ecdsa-", "sk-")) or len(text.split()) < 2:
        raise ConfigError(f"{public}: not an OpenSSH public key")
    return text


def provision_config(env: Environment) -> ProvisionConfig:
    """The environment's `provision:` section; refuses Oracle Linux's `opc` user."""
    if env.is_local or not env.deploy_path or not env.user:
        raise ConfigError(
            f"environment {env.name} is not a VM (it needs host, user and deploy_path)",
            hint="`inv provision` prepares a VM for `inv deploy`",
        )
    if env.provision is None:
        raise ConfigError(
            f"invoke.yaml: environment {env.name} has no provision: section",
            hint="add `provision: {user: ubuntu}` (the cloud image's sudo user; docs/provision.md)",
        )
    if env.provision.user == ORACLE_LINUX_USER:
        raise RefusedError(
            f"environment {env.name}: provision.user is opc, Oracle Linux's user; "
            "Oracle Linux is not supported",
            hint="create the VM from a Canonical Ubuntu 22.04/24.04 image (user ubuntu)",
        )
    return env.provision


def settings_for(env: Environment) -> VmSettings:
    """The VM settings of `env` (ConfigError for what invoke.yaml lacks)."""
    config = provision_config(env)
    assert env.user is not None and env.deploy_path is not None  # provision_config checked
    return VmSettings(
        sudo_user=config.user,
        deploy_user=env.user,
        deploy_path=env.deploy_path,
        authorized_key=public_key_of(env),
        web_ports=web_ports(env.public_url),
        time_servers=tuple(config.time_servers),
        swap_mb=config.swap_mb,
        small_vm_mb=config.small_vm_mb,
    )


def require_supported(os_release: dict[str, str], where: str) -> str:
    """`ID VERSION_ID` of a supported system; RefusedError naming what is supported."""
    system = os_release.get("ID", "").strip('"')
    version = os_release.get("VERSION_ID", "").strip('"')
    name = os_release.get("PRETTY_NAME", f"{system} {version}".strip()).strip('"')
    if system == "ol":
        raise RefusedError(
            f"{where} runs {name}: Oracle Linux is not supported",
            hint="create the VM from a Canonical Ubuntu 22.04/24.04 image (user ubuntu)",
        )
    if version not in SUPPORTED.get(system, ()):
        raise RefusedError(
            f"{where} runs {name or 'an unknown system'}: `inv provision` supports "
            "Debian 12 and Ubuntu 22.04/24.04",
            hint="create the VM from one of those images",
        )
    return f"{system} {version}"


def parse_os_release(text: str) -> dict[str, str]:
    """/etc/os-release as a dict (quotes removed)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values
