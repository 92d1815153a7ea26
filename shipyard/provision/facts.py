"""The facts about a VM that pyinfra's own set lacks (each one command, parsed)."""

from __future__ import annotations

from pyinfra.api.facts import FactBase

from shipyard.provision.settings import parse_os_release


class OsRelease(FactBase[dict[str, str]]):
    """/etc/os-release as a dict (empty when missing)."""

    def command(self) -> str:
        return "cat /etc/os-release 2>/dev/null || true"

    def process(self, output: list[str]) -> dict[str, str]:
        return parse_os_release("\n".join(output))


class HasSystemd(FactBase[bool]):
    """True when systemd is PID 1 (a VM); False in a container replica."""

    def command(self) -> str:
        return "test -d /run/systemd/system && echo yes || echo no"

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[0].strip() == "yes"


class SwapMb(FactBase[int]):
    """Total swap in MB (0 without any)."""

    def command(self) -> str:
        return "awk '/^SwapTotal:/ {print int($2 / 1024)}' /proc/meminfo"

    def process(self, output: list[str]) -> int:
        return int(output[0]) if output and output[0].strip().isdigit() else 0


class FirewallState(FactBase[str]):
    """`in-sync` when the live rules are those the firewall script last applied."""

    def command(self, script: str) -> str:
        return f"{script} check 2>/dev/null || echo drift"

    def process(self, output: list[str]) -> str:
        return output[-1].strip() if output else "drift"


class AptCandidate(FactBase[bool]):
    """True when APT can install the package (it is in a configured archive)."""

    def command(self, package: str) -> str:
        return (
            f"apt-cache policy {package} 2>/dev/null | grep -q 'Candidate: [0-9]' "
            "&& echo yes || echo no"
        )

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[-1].strip() == "yes"


class PackagedCompose(FactBase[bool]):
    """True when a Compose v2 plugin is installed by a package (Docker's or the distro's)."""

    def command(self) -> str:
        return (
            "ls /usr/libexec/docker/cli-plugins/docker-compose "
            "/usr/lib/docker/cli-plugins/docker-compose >/dev/null 2>&1 && echo yes || echo no"
        )

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[-1].strip() == "yes"
