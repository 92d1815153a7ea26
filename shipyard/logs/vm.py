"""`inv logs --env VM`: run the durable-log query on the VM and parse what it prints."""

from __future__ import annotations

from shipyard.config import ShipyardConfig
from shipyard.deploy.preflight import deployable_target
from shipyard.errors import CommandFailedError, PrerequisiteError
from shipyard.logs.query import (
    LOG_DIR,
    MISSING_DIR_EXIT,
    UNREADABLE_DIR_EXIT,
    LogLine,
    LogQuery,
    parse_output,
    query_argv,
)


class NoDurableLogsError(PrerequisiteError):
    """The VM has no durable log store (provisioned before it existed)."""


QUERY_TIMEOUT = 300
"""Seconds a query may take on the VM (14 days of compressed files are read in full)."""


def read_vm_logs(config: ShipyardConfig, name: str, query: LogQuery) -> list[LogLine]:
    """The lines of environment `name`'s durable logs that `query` selects, oldest first:
    every release's containers, removed ones included. Nothing changes on the VM."""
    target = deployable_target(config, name)
    with target.runner:
        result = target.probe(query_argv(query), timeout=QUERY_TIMEOUT)
    if result.exit_code == MISSING_DIR_EXIT:
        raise NoDurableLogsError(
            f"{name}: no durable logs on the VM ({LOG_DIR} does not exist)",
            hint=f"`inv provision --env {name}` installs rsyslog and its Shipyard config; "
            "`inv logs --follow` still shows the current release's containers",
        )
    if result.exit_code == UNREADABLE_DIR_EXIT:
        raise PrerequisiteError(
            f"{name}: {LOG_DIR} is not readable by {target.env.user or 'the SSH user'}",
            hint="the deploy user must be in group docker (`inv provision` does that)",
        )
    if not result.ok:
        raise CommandFailedError(
            f"{name}: reading {LOG_DIR} failed (exit {result.exit_code}): "
            f"{result.stderr.strip()[-300:]}"
        )
    return parse_output(result.stdout, query)
