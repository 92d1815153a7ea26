"""The alert rules: valid for promtool, unit-tested for firing and not firing at their
boundaries, each with a severity, a summary, a description and a runbook that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from shipyard.config import PROJECT_ROOT
from shipyard.monitoring.layout import RULE_TESTS_DIR, RULES_DIR
from tests.unit.monitoring.support import run_tool

RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
TEST_FILES = sorted(RULE_TESTS_DIR.glob("*.test.yml"))
SEVERITIES = {"critical", "warning"}


def alert_rules() -> list[dict]:
    """Every alerting rule of every rule file."""
    rules = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [rule for rule in group["rules"] if "alert" in rule]
    return rules


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the headings of a markdown page."""
    headings = re.findall(r"^#+\s+(.+?)\s*$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_promtool_check_rules() -> None:
    result = run_tool("promtool", "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests_pass() -> None:
    result = run_tool(
        "promtool", "test", "rules", *(path.name for path in TEST_FILES), cwd=RULE_TESTS_DIR
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


def test_at_least_fifteen_rules_with_unique_names() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) >= 15
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_rule_has_severity_summary_description_and_runbook(rule: dict) -> None:
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    if not rule["expr"].startswith("absent("):  # absent() has no value to show
        assert "$value" in annotations["description"], "the description must show the value"
    page, _, anchor = annotations["runbook_url"].partition("#")
    runbook = PROJECT_ROOT / page
    assert page.startswith("docs/runbooks/") and runbook.is_file(), f"{page} does not exist"
    assert anchor in anchors(runbook.read_text()), f"{page} has no section #{anchor}"


def firing_checks() -> set[str]:
    """The alerts the promtool test files expect to fire somewhere."""
    fired = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    fired.add(check["alertname"])
    return fired


def silent_checks() -> set[str]:
    """The alerts the promtool test files also check to stay silent somewhere."""
    silent = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if not check.get("exp_alerts"):
                    silent.add(check["alertname"])
    return silent


def test_every_rule_has_firing_and_silent_promtool_cases() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing_checks() == set(), "rules never shown firing"
    multi_series = {"BackupLastRunFailed"}  # its silent case is a second series in the same test
    assert names - silent_checks() - multi_series == set(), "rules never shown silent"


def test_test_files_load_the_shipped_rules() -> None:
    for path in TEST_FILES:
        files = yaml.safe_load(path.read_text())["rule_files"]
        assert [Path(file).name for file in files] == [rule.name for rule in RULE_FILES]
