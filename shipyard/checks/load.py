"""`inv load`: a bounded Locust run against an environment, judged by k6-style thresholds.

Locust runs headless in a child process (it monkey-patches the standard library with
gevent, which must not happen inside the caller). Its CSV files are the record: the
history file is polled for the live progress line, the stats and failures files give
the figures the thresholds are judged on. Every run stops by itself: after the duration,
or after the request cap, whichever comes first.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shipyard.checks.thresholds import Figures, Threshold
from shipyard.config import PROJECT_ROOT
from shipyard.errors import CommandFailedError, ConfigError

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Exit code when a threshold fails, as k6 does.
THRESHOLDS_FAILED = 99
DEFAULT_MAX_REQUESTS = 100_000
_GRACE_SECONDS = 30  # beyond the duration: spawn, stop timeout, report writing


@dataclass(frozen=True)
class LoadPlan:
    """One load run: where, how hard, how long, where the reports go."""

    url: str
    users: int
    spawn_rate: float
    seconds: int
    max_requests: int
    reports: Path
    name: str
    percentiles: tuple[float, ...] = ()

    @property
    def csv_prefix(self) -> Path:
        """Locust's --csv prefix (PREFIX_stats.csv, _stats_history.csv, _failures.csv)."""
        return self.reports / self.name

    @property
    def html(self) -> Path:
        """The HTML report."""
        return self.reports / f"{self.name}.html"

    def argv(self, python: str = sys.executable) -> list[str]:
        """The Locust command line."""
        if self.users < 1 or self.spawn_rate <= 0:
            raise ConfigError("--users must be at least 1 and --spawn-rate above 0")
        return [
            python,
            "-m",
            "locust",
            "--locustfile",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            self.url,
            "--users",
            str(self.users),
            "--spawn-rate",
            str(self.spawn_rate),
            "--run-time",
            f"{self.seconds}s",
            "--stop-timeout",
            "5",
            "--csv",
            str(self.csv_prefix),
            "--csv-full-history",
            "--html",
            str(self.html),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]

    def environment(self) -> dict[str, str]:
        """Variables the locustfile reads: the request cap and the extra percentiles."""
        return {
            "SHIPYARD_LOAD_MAX_REQUESTS": str(self.max_requests),
            "SHIPYARD_LOAD_PERCENTILES": ",".join(f"{p:g}" for p in self.percentiles),
        }


@dataclass(frozen=True)
class Verdict:
    """One threshold judged: the threshold as given, whether it held, and what was seen."""

    threshold: str
    ok: bool
    line: str
    observed: float


@dataclass
class LoadResult:
    """What a run measured and how each threshold fared."""

    figures: Figures
    failures: list[tuple[str, int]] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every threshold held."""
        return all(verdict.ok for verdict in self.verdicts)


def require_reachable(url: str) -> None:
    """Fail in one line before any load when the target does not answer at all."""
    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=5)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise CommandFailedError(
            f"cannot reach {url}: {reason}", hint="is the stack up? `inv ps`, `inv up`"
        ) from None


def _percentile_column(percentile: float) -> str:
    """Locust's CSV column for a percentile: 95 -> `95%`, 99.9 -> `99.9%`."""
    return f"{percentile:g}%"


def parse_stats(text: str, percentiles: Sequence[float]) -> Figures:
    """The `Aggregated` row of Locust's PREFIX_stats.csv as Figures."""
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("Name") != "Aggregated":
            continue
        requests = int(row["Request Count"])

        def number(column: str, row: dict[str, str] = row) -> float:
            value = row.get(column, "")
            return float(value) if value not in ("", "N/A") else 0.0

        return Figures(
            requests=requests,
            failures=int(row["Failure Count"]),
            rps=number("Requests/s"),
            percentiles_ms={p: number(_percentile_column(p)) for p in percentiles},
            avg_ms=number("Average Response Time"),
            med_ms=number("Median Response Time"),
            min_ms=number("Min Response Time"),
            max_ms=number("Max Response Time"),
        )
    raise CommandFailedError("Locust wrote no aggregated statistics (did any request run?)")


def parse_failures(text: str) -> list[tuple[str, int]]:
    """(`METHOD name: error`, occurrences) from PREFIX_failures.csv, most frequent first."""
    rows = [
        (f"{row['Method']} {row['Name']}: {row['Error']}", int(row["Occurrences"]))
        for row in csv.DictReader(io.StringIO(text))
    ]
    return sorted(rows, key=lambda item: -item[1])


def progress_line(history: str, seconds: int) -> str | None:
    """One live line from the last row of PREFIX_stats_history.csv."""
    rows = [row for row in csv.DictReader(io.StringIO(history)) if row.get("Name") == "Aggregated"]
    if not rows:
        return None
    last, first = rows[-1], rows[0]
    elapsed = int(last["Timestamp"]) - int(first["Timestamp"])
    requests = int(last["Total Request Count"])
    failures = int(last["Total Failure Count"])
    errors = 100.0 * failures / requests if requests else 0.0
    return (
        f"{elapsed:>3}/{seconds} s  users {last['User Count']:>3}  "
        f"rps {float(last['Requests/s']):6.1f}  p95 {last['95%']:>5} ms  "
        f"requests {requests}  errors {errors:.1f}%"
    )


def run_load(
    plan: LoadPlan, thresholds: Sequence[Threshold], progress: Callable[[str], None]
) -> LoadResult:
    """Run Locust as planned (bounded in time and requests) and judge the thresholds."""
    require_reachable(plan.url)
    plan.reports.mkdir(parents=True, exist_ok=True)
    for stale in plan.reports.glob(f"{plan.name}_*.csv"):
        stale.unlink()
    history = Path(f"{plan.csv_prefix}_stats_history.csv")
    started = time.monotonic()
    process = subprocess.Popen(
        plan.argv(),
        cwd=PROJECT_ROOT,
        env={**os.environ, **plan.environment()},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = started + plan.seconds + _GRACE_SECONDS
    shown = ""
    try:
        while process.poll() is None:
            if time.monotonic() > deadline:
                process.kill()
                raise CommandFailedError(
                    f"Locust did not stop within {plan.seconds + _GRACE_SECONDS} s"
                )
            time.sleep(1)
            if history.exists():
                line = progress_line(history.read_text(encoding="utf-8"), plan.seconds)
                if line and line != shown:
                    progress(line)
                    shown = line
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate()[0] or ""
    stats_file = Path(f"{plan.csv_prefix}_stats.csv")
    if not stats_file.exists():
        tail = "\n".join(output.strip().splitlines()[-10:])
        raise CommandFailedError(f"Locust failed (exit {process.returncode}): {tail}")
    percentiles = sorted({t.percentile for t in thresholds if t.percentile is not None} | {95.0})
    figures = parse_stats(stats_file.read_text(encoding="utf-8"), percentiles)
    failures_file = Path(f"{plan.csv_prefix}_failures.csv")
    failures = (
        parse_failures(failures_file.read_text(encoding="utf-8")) if failures_file.exists() else []
    )
    return LoadResult(
        figures=figures,
        failures=failures,
        verdicts=[
            Verdict(t.text, *t.judge(figures), observed=t.observed(figures)) for t in thresholds
        ],
        seconds=time.monotonic() - started,
    )
