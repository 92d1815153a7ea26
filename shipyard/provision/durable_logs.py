"""Provisioning of the logs that outlive containers (docs/monitoring.md): rsyslog copies
every tagged container's lines from Docker's json-file logs into /var/log/shipyard/, and
logrotate bounds those files. The configuration files are monitoring/logs/ (the sandbox VM
image bakes in copies of the same files)."""

from __future__ import annotations

import io
from collections.abc import Callable, Generator

from pyinfra.api.command import StringCommand
from pyinfra.api.facts import FactBase
from pyinfra.api.operation import OperationMeta, operation
from pyinfra.context import host
from pyinfra.operations import apt, files, server, systemd
from pyinfra.operations.util import any_changed

from shipyard.config import PROJECT_ROOT
from shipyard.logs.query import LOG_DIR
from shipyard.provision.facts import OsRelease

LOGS_CONFIG_DIR = PROJECT_ROOT / "monitoring" / "logs"
RSYSLOG_CONF = LOGS_CONFIG_DIR / "rsyslog-shipyard.conf"
LOGROTATE_CONF = LOGS_CONFIG_DIR / "logrotate-shipyard"
RSYSLOG_DROP_IN = "/etc/rsyslog.d/30-shipyard.conf"
LOGROTATE_DROP_IN = "/etc/logrotate.d/shipyard"
LOGROTATE_TIMER_DROP_IN = "/etc/systemd/system/logrotate.timer.d/shipyard-hourly.conf"
PACKAGES = ("rsyslog", "logrotate")
PRIVILEGE_DROP = r"^\$PrivDropTo"
"""Ubuntu's /etc/rsyslog.conf lines that make rsyslog drop to user syslog (a sed/grep BRE)."""
UNDROPPED = "#$PrivDropTo"

Add = Callable[[str, OperationMeta], OperationMeta]


class RsyslogRunning(FactBase[bool]):
    """True when an rsyslogd process runs."""

    def command(self) -> str:
        return "pgrep -x rsyslogd >/dev/null && echo yes || echo no"

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[-1].strip() == "yes"


@operation()
def rsyslog_started() -> Generator[object, None, None]:
    """rsyslogd runs, started directly where there is no systemd (the container replica of
    a VM: Debian 12's rsyslog has no init script)."""
    if not host.get_fact(RsyslogRunning):
        yield StringCommand("rsyslogd")


def logrotate_hourly() -> str:
    """A timer drop-in that runs logrotate every hour (Debian and Ubuntu run it daily), so
    the `maxsize` of monitoring/logs/logrotate-shipyard caps a file within the hour."""
    return (
        "# Written by `inv provision` (Shipyard): logrotate every hour, so that `maxsize`\n"
        "# bounds /var/log/shipyard/*.log within the hour (docs/monitoring.md).\n"
        "[Timer]\nOnCalendar=\nOnCalendar=hourly\nAccuracySec=1m\n"
    )


def provision_durable_logs(systemd_here: bool, add: Add) -> None:
    """Add the durable-log operations (`add` records each one, see steps.Steps.add)."""
    # Configuration first, so rsyslog starts with it when its package installs.
    changes = [
        add(
            "rsyslog: container logs into /var/log/shipyard (durable logs)",
            files.put(
                src=str(RSYSLOG_CONF), dest=RSYSLOG_DROP_IN, user="root", group="root", mode="644"
            ),
        )
    ]
    add(
        "logrotate: /var/log/shipyard/*.log capped by size and age",
        files.put(
            src=str(LOGROTATE_CONF), dest=LOGROTATE_DROP_IN, user="root", group="root", mode="644"
        ),
    )
    add(
        f"packages: {', '.join(PACKAGES)}",
        apt.packages(packages=list(PACKAGES), no_recommends=True),
    )
    add(
        f"{LOG_DIR}: root, group docker (the deploy user reads it)",
        files.directory(path=LOG_DIR, user="root", group="docker", mode="750"),
    )
    if host.get_fact(OsRelease).get("ID") == "ubuntu":
        # Ubuntu's rsyslog drops to user syslog, which cannot read Docker's root-owned logs;
        # Debian's runs as root. (Untested here: no Ubuntu VM on our machines.)
        changes.append(
            add(
                "rsyslog keeps root to read Docker's logs (Ubuntu's $PrivDropTo* commented out)",
                files.replace(path="/etc/rsyslog.conf", text=PRIVILEGE_DROP, replace=UNDROPPED),
            )
        )
    if not systemd_here:
        add("rsyslog running (no systemd: rsyslogd started directly)", rsyslog_started())
        return
    add(
        "rsyslog running, enabled at boot",
        server.service(service="rsyslog", running=True, enabled=True),
    )
    add(
        "rsyslog restarted for its new config",
        server.service(service="rsyslog", restarted=True, _if=any_changed(*changes)),
    )
    timer = add(
        "logrotate every hour",
        files.put(
            src=io.BytesIO(logrotate_hourly().encode()),
            dest=LOGROTATE_TIMER_DROP_IN,
            user="root",
            group="root",
            mode="644",
        ),
    )
    add("systemd reloaded for the logrotate timer", systemd.daemon_reload(_if=timer.did_change))
    add(
        "logrotate timer restarted on its new schedule",
        systemd.service(service="logrotate.timer", restarted=True, _if=timer.did_change),
    )
