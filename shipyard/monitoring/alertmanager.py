"""Alertmanager's configuration for an environment, rendered from its env file (pure).

Routing: `severity=critical` goes to the `critical` receiver (PagerDuty and email),
`severity=warning` to `warning` (email and Slack); both also post to ALERT_WEBHOOK_URL
when it is set. Alerts are grouped by alert name and job, and an `ApiDown` silences the
alerts it causes (`HighErrorRate`), a critical disk or certificate alert its warning twin.
The rendered text holds secrets: it is written mode 0600 on the host that runs
Alertmanager and never committed (shipyard.monitoring.files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from shipyard.envfile.rules import parse_bool

CRITICAL = "critical"
WARNING = "warning"
DEFAULT_RECEIVER = "default"

INHIBITIONS: tuple[tuple[str, str], ...] = (
    ("ApiDown", "HighErrorRate"),
    ("ApiDown", "HighLatencyP95"),
    ("DatabaseDown", "AppDatabasePoolExhausted"),
    ("HostDiskSpaceCritical", "HostDiskSpaceLow"),
    ("CertificateExpiresVerySoon", "CertificateExpiresSoon"),
)
"""(source, target): while `source` fires, `target` is not sent (same environment)."""


@dataclass(frozen=True)
class Timing:
    """How Alertmanager batches notifications (shorter values only in tests)."""

    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    resolve_timeout: str = "5m"


@dataclass(frozen=True)
class Receivers:
    """Where alerts go; every field comes from the env file (ALERT_* variables)."""

    email_to: str | None = None
    email_from: str | None = None
    smtp_smarthost: str | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_require_tls: bool = True
    pagerduty_routing_key: str | None = None
    pagerduty_url: str | None = None
    slack_webhook_url: str | None = None
    slack_channel: str | None = None
    webhook_url: str | None = None

    @property
    def email(self) -> bool:
        """True when mail can be sent (a recipient and a server)."""
        return bool(self.email_to and self.smtp_smarthost)

    def channels(self) -> list[str]:
        """The channels configured, for status output (no secret)."""
        named = {
            "email": self.email,
            "pagerduty": bool(self.pagerduty_routing_key),
            "slack": bool(self.slack_webhook_url),
            "webhook": bool(self.webhook_url),
        }
        return [name for name, on in named.items() if on]


def receivers_from_env(values: Mapping[str, str]) -> Receivers:
    """The receivers an env file's values describe; unset or empty values mean "none"."""

    def get(name: str) -> str | None:
        return values.get(name) or None

    require_tls = parse_bool(values.get("ALERT_SMTP_REQUIRE_TLS") or "true")
    return Receivers(
        email_to=get("ALERT_EMAIL_TO"),
        email_from=get("ALERT_EMAIL_FROM"),
        smtp_smarthost=get("ALERT_SMTP_SMARTHOST"),
        smtp_username=get("ALERT_SMTP_USERNAME"),
        smtp_password=get("ALERT_SMTP_PASSWORD"),
        smtp_require_tls=True if require_tls is None else require_tls,
        pagerduty_routing_key=get("ALERT_PAGERDUTY_ROUTING_KEY"),
        pagerduty_url=get("ALERT_PAGERDUTY_URL"),
        slack_webhook_url=get("ALERT_SLACK_WEBHOOK_URL"),
        slack_channel=get("ALERT_SLACK_CHANNEL"),
        webhook_url=get("ALERT_WEBHOOK_URL"),
    )


def _email(receivers: Receivers) -> list[dict[str, Any]]:
    if not receivers.email:
        return []
    return [{"to": receivers.email_to, "send_resolved": True}]


def _webhook(receivers: Receivers) -> list[dict[str, Any]]:
    if not receivers.webhook_url:
        return []
    return [{"url": receivers.webhook_url, "send_resolved": True}]


def _pagerduty(receivers: Receivers) -> list[dict[str, Any]]:
    if not receivers.pagerduty_routing_key:
        return []
    config: dict[str, Any] = {
        "routing_key": receivers.pagerduty_routing_key,
        "send_resolved": True,
        "description": '{{ template "shipyard.title" . }}',
    }
    if receivers.pagerduty_url:
        config["url"] = receivers.pagerduty_url
    return [config]


def _slack(receivers: Receivers) -> list[dict[str, Any]]:
    if not receivers.slack_webhook_url:
        return []
    config: dict[str, Any] = {
        "api_url": receivers.slack_webhook_url,
        "send_resolved": True,
        "title": '{{ template "shipyard.title" . }}',
        "text": '{{ template "shipyard.text" . }}',
    }
    if receivers.slack_channel:
        config["channel"] = receivers.slack_channel
    return [config]


def _receiver(name: str, **configs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, **{key: value for key, value in configs.items() if value}}


def _global(receivers: Receivers, timing: Timing) -> dict[str, Any]:
    settings: dict[str, Any] = {"resolve_timeout": timing.resolve_timeout}
    if receivers.email:
        settings["smtp_smarthost"] = receivers.smtp_smarthost
        settings["smtp_from"] = receivers.email_from or f"alertmanager@{_domain(receivers)}"
        settings["smtp_require_tls"] = receivers.smtp_require_tls
        if receivers.smtp_username:
            settings["smtp_auth_username"] = receivers.smtp_username
        if receivers.smtp_password:
            settings["smtp_auth_password"] = receivers.smtp_password
    return settings


def _domain(receivers: Receivers) -> str:
    return (receivers.email_to or "localhost").rpartition("@")[2] or "localhost"


def alertmanager_config(
    receivers: Receivers, *, timing: Timing = Timing(), templates: str = "templates/*.tmpl"
) -> dict[str, Any]:
    """Alertmanager's configuration as a mapping (see the module docstring)."""
    email, webhook = _email(receivers), _webhook(receivers)
    return {
        "global": _global(receivers, timing),
        "templates": [templates],
        "route": {
            "receiver": DEFAULT_RECEIVER,
            "group_by": ["alertname", "job"],
            "group_wait": timing.group_wait,
            "group_interval": timing.group_interval,
            "repeat_interval": timing.repeat_interval,
            "routes": [
                {"matchers": [f'severity="{CRITICAL}"'], "receiver": CRITICAL},
                {"matchers": [f'severity="{WARNING}"'], "receiver": WARNING},
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": [f'alertname="{source}"'],
                "target_matchers": [f'alertname="{target}"'],
            }
            for source, target in INHIBITIONS
        ],
        "receivers": [
            _receiver(
                CRITICAL,
                pagerduty_configs=_pagerduty(receivers),
                email_configs=email,
                webhook_configs=webhook,
            ),
            _receiver(
                WARNING,
                email_configs=email,
                slack_configs=_slack(receivers),
                webhook_configs=webhook,
            ),
            _receiver(DEFAULT_RECEIVER, email_configs=email, webhook_configs=webhook),
        ],
    }


def render_alertmanager(
    receivers: Receivers, *, timing: Timing = Timing(), templates: str = "templates/*.tmpl"
) -> str:
    """alertmanager.yml for `receivers` (holds secrets: write it mode 0600)."""
    config = alertmanager_config(receivers, timing=timing, templates=templates)
    header = "# Rendered by Shipyard from the env file: holds secrets, never commit it.\n"
    return header + yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
