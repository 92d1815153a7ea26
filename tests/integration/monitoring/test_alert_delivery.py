"""Alerts reach people: the real Prometheus and Alertmanager watch a real database, app and
exporters; stopping the database delivers DatabaseDown and ApiDown to a webhook, to a
PagerDuty endpoint and as mail (aiosmtpd), then their resolution once it is back.

The shipped rules run with every `for:` shortened to 2 s (a copy; the shipped file keeps its
durations), scrapes and evaluations every second, Alertmanager's group wait 1 s: the whole
module takes about a minute, bounded by the waits below.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.monitoring.alertmanager import Receivers
from tests.integration.monitoring.support import (
    Inbox,
    ObservedStack,
    http_receiver,
    observed_stack,
    smtp_receiver,
    wait_until,
)

DELIVERY_TIMEOUT = 120
EXPECTED = {"DatabaseDown", "ApiDown"}


@pytest.fixture(scope="module")
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[ObservedStack]:
    workdir: Path = tmp_path_factory.mktemp("alerts")
    with http_receiver(inbox) as base, smtp_receiver(inbox) as smtp:
        receivers = Receivers(
            email_to="oncall@example.test",
            email_from="alertmanager@example.test",
            smtp_smarthost=smtp,
            smtp_require_tls=False,
            pagerduty_routing_key="e2e-routing-key-0123456789abcdef",
            pagerduty_url=f"{base}/pagerduty",
            slack_webhook_url=f"{base}/slack",
            webhook_url=f"{base}/webhook",
        )
        with observed_stack(workdir, receivers=receivers) as stack:
            yield stack


def notified(inbox: Inbox, status: str) -> set[str]:
    """Alert names the webhook got in notifications of `status`."""
    return {
        alert["labels"]["alertname"]
        for body in inbox.webhook("/webhook")
        for alert in body["alerts"]
        if alert["status"] == status
    }


def paged(inbox: Inbox, action: str) -> list[str]:
    """Summaries of the PagerDuty Events v2 posts with `event_action`."""
    return [
        body["payload"]["summary"]
        for body in inbox.webhook("/pagerduty")
        if body.get("event_action") == action
    ]


def mailed(inbox: Inbox, word: str, alert: str) -> bool:
    return any(word in subject and alert in subject for subject in inbox.subjects())


def test_every_target_is_up(observed: ObservedStack) -> None:
    wanted = {"app", "postgres", "node", "blackbox", "blackbox-http", "blackbox-backup",
              "prometheus", "alertmanager"}  # fmt: skip

    def all_up() -> bool:
        health = observed.targets_up()
        return set(health) == wanted and set(health.values()) == {"up"}

    wait_until(all_up, 60, "every scrape target up")
    for healthy in ('probe_success{job="blackbox-http"} == 1', 'pg_up{job="postgres"} == 1'):
        wait_until(lambda query=healthy: observed.query(query), 30, f"{healthy} in Prometheus")


def test_stopping_the_database_delivers_the_alerts(observed: ObservedStack, inbox: Inbox) -> None:
    assert notified(inbox, "firing") & EXPECTED == set(), "alerts before the outage"
    observed.db.stop()
    started = time.monotonic()
    wait_until(lambda: notified(inbox, "firing") >= EXPECTED, DELIVERY_TIMEOUT,
               "DatabaseDown and ApiDown at the webhook")  # fmt: skip
    wait_until(lambda: all(mailed(inbox, "FIRING", name) for name in EXPECTED),
               DELIVERY_TIMEOUT, "the firing mails")  # fmt: skip
    wait_until(lambda: len(paged(inbox, "trigger")) >= 2, DELIVERY_TIMEOUT, "two PagerDuty pages")
    print(f"alerts delivered {time.monotonic() - started:.1f} s after the database stopped")
    pages = paged(inbox, "trigger")
    assert any("DatabaseDown" in page and "critical" in page for page in pages), pages
    assert any("ApiDown" in page for page in pages), pages
    mail = next(m for m in inbox.mails if "DatabaseDown" in str(m["Subject"]))
    assert mail["To"] == "oncall@example.test"
    body = b"".join(part.get_payload(decode=True) or b"" for part in mail.walk())
    assert b"docs/runbooks/database.md#databasedown" in body, "the mail links the runbook"


def test_the_error_rate_alert_is_inhibited_while_the_api_is_down(
    observed: ObservedStack, inbox: Inbox
) -> None:
    now = datetime.now(UTC)
    alerts: list[dict[str, Any]] = [
        {
            "labels": {"alertname": name, "severity": "critical", "origin": "inhibition-test"},
            "annotations": {"summary": name},
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(minutes=5)).isoformat(),
        }
        for name in ("ApiDown", "HighErrorRate")
    ]
    url = f"{observed.alertmanager_url}/api/v2/alerts"
    assert httpx.post(url, json=alerts, timeout=10).status_code == 200

    def states() -> dict[str, dict[str, Any]]:
        listed = httpx.get(url, params={"filter": 'origin="inhibition-test"'}, timeout=10).json()
        return {alert["labels"]["alertname"]: alert["status"] for alert in listed}

    status = wait_until(lambda: len(states()) == 2 and states(), 30, "the posted alerts listed")
    assert status["ApiDown"]["state"] == "active"
    assert status["HighErrorRate"]["state"] == "suppressed"
    assert status["HighErrorRate"]["inhibitedBy"]
    assert "HighErrorRate" not in notified(inbox, "firing")


def test_recovery_delivers_the_resolution(observed: ObservedStack, inbox: Inbox) -> None:
    observed.db.start()
    wait_until(lambda: notified(inbox, "resolved") >= EXPECTED, DELIVERY_TIMEOUT,
               "the resolved notifications at the webhook")  # fmt: skip
    wait_until(lambda: all(mailed(inbox, "RESOLVED", name) for name in EXPECTED),
               DELIVERY_TIMEOUT, "the resolved mails")  # fmt: skip
    wait_until(lambda: len(paged(inbox, "resolve")) >= 2, DELIVERY_TIMEOUT, "PagerDuty resolves")
