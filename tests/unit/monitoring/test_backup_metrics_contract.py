"""The backup textfiles carry the series the backup alert rules and dashboard read."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from shipyard.backup.metrics import failure_textfile, textfile
from shipyard.monitoring.layout import RULES_DIR


def samples(text: str) -> dict[str, dict[str, str]]:
    """Sample name -> labels, from exposition text."""
    return {
        sample.name: sample.labels
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_success_and_failure_files_name_the_series_the_rules_use() -> None:
    success = samples(textfile("production", finished=2000.0, duration=3.0, sizes={"db": 1}))
    failure = samples(failure_textfile("production", failed=3000.0))
    rules = (RULES_DIR / "shipyard.rules.yml").read_text()
    for name in ("shipyard_backup_last_success_timestamp_seconds",):
        assert name in success and name in rules
    assert failure == {"shipyard_backup_last_failure_timestamp_seconds": {"env": "production"}}
    assert "shipyard_backup_last_failure_timestamp_seconds" in rules
