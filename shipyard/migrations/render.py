"""The migration gate's report as text lines: timings per revision, one line per check."""

from __future__ import annotations

from typing import Any

from shipyard.migrations.harness import MigrationReport

_MARKS = {"ok": "ok  ", "failed": "FAIL", "not run": "skip"}


def timing_lines(report: MigrationReport) -> list[str]:
    """The stairway's per-revision timings as an aligned table."""
    if not report.timings:
        return []
    width = max(len("revision"), *(len(timing.revision) for timing in report.timings))
    lines = [f"{'revision':<{width}}  {'upgrade':>9}  {'downgrade':>9}  {'upgrade again':>13}"]
    for timing in report.timings:
        lines.append(
            f"{timing.revision:<{width}}  {timing.upgrade_ms:>6.0f} ms  "
            f"{timing.downgrade_ms:>6.0f} ms  {timing.upgrade_again_ms:>10.0f} ms"
        )
    return lines


def check_lines(report: MigrationReport) -> list[str]:
    """One line per check (and the indented context of a failure)."""
    lines = []
    for check in report.checks:
        lines.append(f"{_MARKS[check.status]}  {check.name}: {check.detail}")
        if check.status == "failed" and check.context:
            lines += [f"        {line}" for line in check.context.splitlines() if line.strip()]
    return lines


def summary_line(report: MigrationReport) -> str:
    """`N passed, M failed` and the time taken."""
    passed = sum(1 for check in report.checks if check.status == "ok")
    failed = sum(1 for check in report.checks if check.status == "failed")
    not_run = sum(1 for check in report.checks if check.status == "not run")
    parts = [f"{passed} passed", f"{failed} failed"] + ([f"{not_run} not run"] if not_run else [])
    count = len(report.revisions)
    plural = "" if count == 1 else "s"
    return f"{', '.join(parts)} in {report.seconds:.1f} s ({count} revision{plural})"


def to_json(report: MigrationReport) -> dict[str, Any]:
    """One JSON document for CI."""
    return {
        "ok": report.ok,
        "ini": str(report.ini),
        "image": report.image,
        "revisions": report.revisions,
        "seconds": round(report.seconds, 3),
        "checks": [
            {
                "name": check.name,
                "status": check.status,
                "detail": check.detail,
                "revision": check.revision,
                "context": check.context,
                "seconds": round(check.seconds, 3),
            }
            for check in report.checks
        ],
        "timings_ms": [
            {
                "revision": timing.revision,
                "upgrade": round(timing.upgrade_ms, 1),
                "downgrade": round(timing.downgrade_ms, 1),
                "upgrade_again": round(timing.upgrade_again_ms, 1),
            }
            for timing in report.timings
        ],
    }
