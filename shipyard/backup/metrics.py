"""The Prometheus textfile node-exporter reads: written only after a successful backup,
so an alert on the age of `shipyard_backup_last_success_timestamp_seconds` fires when
backups stop (see docs/backups.md for the rule)."""

from __future__ import annotations

from pathlib import PurePosixPath

from shipyard.remote import Runner

PREFIX = "shipyard_backup"


def textfile(env: str, *, finished: float, duration: float, sizes: dict[str, int]) -> str:
    """The metrics of one successful backup in the text exposition format."""
    label = f'env="{env}"'
    lines = [
        f"# HELP {PREFIX}_last_success_timestamp_seconds When the last backup finished.",
        f"# TYPE {PREFIX}_last_success_timestamp_seconds gauge",
        f"{PREFIX}_last_success_timestamp_seconds{{{label}}} {finished:.3f}",
        f"# HELP {PREFIX}_last_duration_seconds How long the last successful backup took.",
        f"# TYPE {PREFIX}_last_duration_seconds gauge",
        f"{PREFIX}_last_duration_seconds{{{label}}} {duration:.3f}",
        f"# HELP {PREFIX}_last_bytes Sizes of the last successful backup, by part.",
        f"# TYPE {PREFIX}_last_bytes gauge",
    ]
    lines += [
        f'{PREFIX}_last_bytes{{{label},part="{part}"}} {value}'
        for part, value in sorted(sizes.items())
    ]
    return "\n".join(lines) + "\n"


def failure_textfile(env: str, *, failed: float) -> str:
    """The metric of a failed backup run (its own file: the success metrics stay as they
    were, so `BackupLastRunFailed` compares the two timestamps)."""
    name = f"{PREFIX}_last_failure_timestamp_seconds"
    return (
        f"# HELP {name} When a backup run last failed.\n"
        f"# TYPE {name} gauge\n"
        f'{name}{{env="{env}"}} {failed:.3f}\n'
    )


def write_textfile(runner: Runner, directory: PurePosixPath, name: str, text: str) -> str:
    """Write atomically (temp file, then rename) on the runner's host; the final path."""
    return runner.put(text.encode(), directory / name)
