"""k6-style thresholds and durations: parsing, judging, and the errors for bad input."""

from __future__ import annotations

import pytest

from shipyard.checks.thresholds import Figures, parse_duration, parse_threshold
from shipyard.errors import ConfigError

FIGURES = Figures(
    requests=1000,
    failures=5,
    rps=62.5,
    percentiles_ms={95.0: 240.0, 99.0: 1200.0, 99.9: 1800.0},
    avg_ms=80.0,
    med_ms=40.0,
    min_ms=2.0,
    max_ms=2500.0,
)


@pytest.mark.parametrize(
    ("text", "metric", "op", "limit", "percentile"),
    [
        ("p(95)<300ms", "p", "<", 300.0, 95.0),
        ("p(99)<1s", "p", "<", 1000.0, 99.0),
        ("p(99.9) <= 2.5s", "p", "<=", 2500.0, 99.9),
        ("avg<200ms", "avg", "<", 200.0, None),
        ("med<100ms", "med", "<", 100.0, None),
        ("max<2s", "max", "<", 2000.0, None),
        ("errors<1%", "errors", "<", 1.0, None),
        ("errors<0.5", "errors", "<", 0.5, None),
        ("rps>50", "rps", ">", 50.0, None),
        ("rps>=12.5", "rps", ">=", 12.5, None),
    ],
)
def test_parse_threshold(text, metric, op, limit, percentile):
    threshold = parse_threshold(text)
    assert (threshold.metric, threshold.op, threshold.limit, threshold.percentile) == (
        metric,
        op,
        limit,
        percentile,
    )


@pytest.mark.parametrize(
    ("text", "ok", "shown"),
    [
        ("p(95)<300ms", True, "p(95)<300ms: 240.0 ms"),
        ("p(99)<1s", False, "p(99)<1s: 1200.0 ms"),
        ("errors<1%", True, "errors<1%: 0.50%"),
        ("errors<0.1%", False, "errors<0.1%: 0.50%"),
        ("rps>50", True, "rps>50: 62.5/s"),
        ("rps>100", False, "rps>100: 62.5/s"),
        ("max<2s", False, "max<2s: 2500.0 ms"),
        ("med<=40ms", True, "med<=40ms: 40.0 ms"),
    ],
)
def test_judge(text, ok, shown):
    assert parse_threshold(text).judge(FIGURES) == (ok, shown)


def test_no_requests_means_every_request_failed():
    empty = Figures(0, 0, 0.0, {95.0: 0.0}, 0.0, 0.0, 0.0, 0.0)
    assert parse_threshold("errors<1%").judge(empty)[0] is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p95<300ms", "not understood"),
        ("p(95)<300", "give a time unit"),
        ("p(0)<300ms", "between 0 and 100"),
        ("p(101)<300ms", "between 0 and 100"),
        ("errors<1ms", "percentage"),
        ("rps>50%", "plain number"),
        ("latency<1s", "not understood"),
        ("", "not understood"),
    ],
)
def test_bad_thresholds_are_config_errors(text, message):
    with pytest.raises(ConfigError, match=message) as caught:
        parse_threshold(text)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "seconds"), [("20s", 20), ("1m30s", 90), ("2m", 120), ("1h", 3600), ("45", 45)]
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "0s", "20 s", "1.5m", "soon"])
def test_bad_durations(text):
    with pytest.raises(ConfigError):
        parse_duration(text)
