"""The audit log on the VM: one JSON line per deploy or rollback (who, when, what, result)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from shipyard.deploy.plan import append_audit_argv
from shipyard.vm.target import Target


@dataclass(frozen=True)
class AuditRecord:
    """One line of audit.log."""

    action: str
    env: str
    release: str
    version: str
    git_sha: str
    who: str
    at: str
    result: str
    seconds: float
    detail: str = ""
    backup: str = ""
    """The pre-deploy backup's id, when one was taken."""


def append(target: Target, record: AuditRecord) -> None:
    """Append the record to the VM's audit.log."""
    target.run(append_audit_argv(target.layout, asdict(record)), "writing the audit line")


def read(target: Target, lines: int = 20) -> list[dict[str, object]]:
    """The last `lines` records (newest last); [] when nothing was deployed."""
    result = target.probe(["tail", "-n", str(lines), target.layout.audit_log])
    if not result.ok:
        return []
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
