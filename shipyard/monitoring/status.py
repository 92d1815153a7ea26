"""What the monitoring profile sees: its scrape targets (up or down) and the alerts that
fire, parsed from Prometheus's HTTP API answers (pure; shipyard.monitoring.runtime asks)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One scrape target."""

    job: str
    instance: str
    health: str
    last_error: str


@dataclass(frozen=True)
class FiringAlert:
    """One alert Prometheus holds (pending or firing)."""

    name: str
    severity: str
    state: str
    summary: str


@dataclass(frozen=True)
class MonitoringStatus:
    """Targets and alerts, for humans and `--json`."""

    targets: list[Target]
    alerts: list[FiringAlert]

    @property
    def all_up(self) -> bool:
        """True when every target answered its last scrape."""
        return bool(self.targets) and all(target.health == "up" for target in self.targets)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "all_up": self.all_up,
            "targets": [asdict(target) for target in self.targets],
            "alerts": [asdict(alert) for alert in self.alerts],
        }


def parse_status(targets: dict[str, Any], alerts: dict[str, Any]) -> MonitoringStatus:
    """Prometheus's /api/v1/targets and /api/v1/alerts answers -> a status."""
    parsed_targets = sorted(
        (
            Target(
                job=item["labels"].get("job", ""),
                instance=item["labels"].get("instance", ""),
                health=item.get("health", "unknown"),
                last_error=item.get("lastError", ""),
            )
            for item in targets["data"]["activeTargets"]
        ),
        key=lambda target: (target.job, target.instance),
    )
    parsed_alerts = sorted(
        (
            FiringAlert(
                name=item["labels"].get("alertname", ""),
                severity=item["labels"].get("severity", ""),
                state=item.get("state", ""),
                summary=item.get("annotations", {}).get("summary", ""),
            )
            for item in alerts["data"]["alerts"]
        ),
        key=lambda alert: (alert.state, alert.name),
    )
    return MonitoringStatus(parsed_targets, parsed_alerts)
