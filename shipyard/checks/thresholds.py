"""Load-test thresholds in k6's syntax, parsed and judged against a run's figures.

    p(95)<300ms   p(99)<1s   avg<200ms   med<100ms   max<2s   errors<1%   rps>50

Pure: `parse_threshold` turns text into a Threshold (or a ConfigError naming what is
wrong); `Threshold.judge` compares it with the figures of a finished run.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from shipyard.errors import ConfigError

DEFAULT_THRESHOLDS = ("p(95)<300ms", "errors<1%")

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_PATTERN = re.compile(
    r"^\s*(?P<metric>p\((?P<pct>\d+(?:\.\d+)?)\)|avg|med|min|max|errors|rps)\s*"
    r"(?P<op><=|>=|<|>)\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|%)?\s*$"
)
_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
SYNTAX_HINT = "e.g. p(95)<300ms, p(99)<1s, avg<200ms, errors<1%, rps>50"


@dataclass(frozen=True)
class Figures:
    """What a load run measured (times in milliseconds)."""

    requests: int
    failures: int
    rps: float
    percentiles_ms: dict[float, float]
    avg_ms: float
    med_ms: float
    min_ms: float
    max_ms: float

    @property
    def error_rate(self) -> float:
        """Failed requests as a percentage of all requests."""
        return 100.0 * self.failures / self.requests if self.requests else 100.0


@dataclass(frozen=True)
class Threshold:
    """One threshold: metric, comparison, limit (ms for times, % for errors, /s for rps)."""

    text: str
    metric: str
    op: str
    limit: float
    percentile: float | None = None

    def observed(self, figures: Figures) -> float:
        """The figure this threshold looks at."""
        if self.percentile is not None:
            return figures.percentiles_ms[self.percentile]
        return {
            "avg": figures.avg_ms,
            "med": figures.med_ms,
            "min": figures.min_ms,
            "max": figures.max_ms,
            "errors": figures.error_rate,
            "rps": figures.rps,
        }[self.metric]

    def judge(self, figures: Figures) -> tuple[bool, str]:
        """Whether the run meets it, and a line such as `p(95)<300ms: 42 ms`."""
        value = self.observed(figures)
        unit = {"errors": "%", "rps": "/s"}.get(self.metric, " ms")
        shown = f"{value:.2f}{unit}" if self.metric == "errors" else f"{value:.1f}{unit}"
        return _OPERATORS[self.op](value, self.limit), f"{self.text}: {shown}"


def parse_threshold(text: str) -> Threshold:
    """Parse one k6-style threshold; a ConfigError names what is wrong."""
    match = _PATTERN.match(text)
    if not match:
        raise ConfigError(f"threshold {text!r} is not understood", hint=SYNTAX_HINT)
    metric, unit = match["metric"], match["unit"]
    value = float(match["value"])
    percentile = float(match["pct"]) if match["pct"] else None
    if percentile is not None:
        if not 0 < percentile <= 100:
            raise ConfigError(f"threshold {text!r}: a percentile is between 0 and 100")
        metric = "p"
    if metric == "errors":
        if unit not in ("%", None):
            raise ConfigError(f"threshold {text!r}: errors are a percentage, e.g. errors<1%")
    elif metric == "rps":
        if unit is not None:
            raise ConfigError(f"threshold {text!r}: rps takes a plain number, e.g. rps>50")
    elif unit not in ("ms", "s"):
        raise ConfigError(f"threshold {text!r}: give a time unit (ms or s), e.g. p(95)<300ms")
    elif unit == "s":
        value *= 1000
    return Threshold(text.strip(), metric, match["op"], value, percentile)


def parse_duration(text: str) -> int:
    """`20s`, `1m30s`, `2m`, `1h` or plain seconds -> seconds (at least 1)."""
    text = text.strip()
    if text.isdigit():
        seconds = int(text)
    else:
        match = _DURATION.match(text)
        if not text or not match:
            raise ConfigError(f"duration {text!r} is not understood", hint="e.g. 20s, 1m30s, 2m")
        seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + int(match["s"] or 0)
    if seconds < 1:
        raise ConfigError(f"duration {text!r} must be at least 1 s")
    return seconds
