"""Every workflow passes the three offline checkers and names only tasks and options that
exist; and each checker does catch the kind of mistake it is there for."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from shipyard.config import PROJECT_ROOT
from shipyard.pipeline import workflows as wf
from shipyard.remote import LocalRunner

RUNNER = LocalRunner(PROJECT_ROOT)
FILES = wf.workflow_files()
EXPECTED = {"ci.yml", "deploy-staging.yml", "deploy-production.yml", "rollback.yml", "dr-drill.yml"}


def _run(argv: list[str]) -> tuple[int, str]:
    result = RUNNER.run(argv)
    return result.exit_code, result.stdout + result.stderr


def test_the_pipeline_has_its_workflows() -> None:
    assert {f.name for f in FILES} == EXPECTED


def test_schema() -> None:
    code, output = _run(wf.schema_argv(FILES))
    assert code == 0, output


def test_zizmor_has_no_finding() -> None:
    code, output = _run(wf.zizmor_argv(FILES))
    assert code == 0, output
    assert "No findings to report" in output


def test_actionlint() -> None:
    code, output = _run(wf.actionlint_argv(FILES))
    assert (code, output) == (0, "")


def test_every_inv_line_names_a_task_and_options_that_exist() -> None:
    calls = [call for f in FILES for call in wf.inv_calls(f)]
    assert {"deploy", "rollback", "dr.drill", "release.check", "ci.access"} <= {
        c.task for c in calls
    }
    assert wf.check_inv_calls(calls) == []


def test_a_renamed_task_or_option_is_found() -> None:
    calls = [
        wf.InvCall("w.yml", "Deploy", "deploy", ("env", "yes", "approve")),
        wf.InvCall("w.yml", "Ship", "ship", ("env",)),
    ]
    assert wf.check_inv_calls(calls) == [
        "w.yml: step 'Deploy': `inv deploy --approve`: no such option (see inv --help deploy)",
        "w.yml: step 'Ship': `inv ship`: no such task (see inv --list)",
    ]


def test_inv_calls_are_found_in_command_substitutions(tmp_path: Path) -> None:
    workflow = tmp_path / "w.yml"
    workflow.write_text(
        "jobs:\n  j:\n    steps:\n"
        "      - name: Name\n"
        '        run: echo "ref=$(.venv/bin/inv ci.image-ref)" >> "$GITHUB_OUTPUT"\n'
        "      - run: |\n"
        '          .venv/bin/inv deploy --env "$E" --yes && inv smoke --no-burst\n'
    )
    found = [(c.step, c.task, c.options) for c in wf.inv_calls(workflow)]
    assert found == [
        ("Name", "ci.image-ref", ()),
        ("j step 2", "deploy", ("env", "yes")),
        ("j step 2", "smoke", ("no-burst",)),
    ]


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A copy of deploy-staging.yml to break."""
    copy = tmp_path / "workflows" / "deploy-staging.yml"
    copy.parent.mkdir()
    shutil.copy(wf.WORKFLOWS / "deploy-staging.yml", copy)
    return copy


def test_zizmor_finds_a_tag_pin_and_persisted_credentials(broken: Path) -> None:
    text = re.sub(
        r"actions/checkout@[0-9a-f]{40} # v4.2.2", "actions/checkout@v4", broken.read_text()
    )
    broken.write_text(text.replace("persist-credentials: false", "fetch-depth: 1"))
    code, output = _run(wf.zizmor_argv([broken]))
    assert code != 0
    assert "unpinned-uses" in output and "artipacked" in output


def test_zizmor_finds_a_secret_expanded_into_a_script(broken: Path) -> None:
    text = broken.read_text().replace(
        'run: .venv/bin/inv smoke --env "$SHIPYARD_ENV"',
        "run: .venv/bin/inv smoke --env ${{ github.head_ref }}",
    )
    broken.write_text(text)
    code, output = _run(wf.zizmor_argv([broken]))
    assert code != 0 and "template-injection" in output


def test_the_schema_refuses_an_unknown_key(broken: Path) -> None:
    broken.write_text(broken.read_text().replace("timeout-minutes:", "timeout-minute:"))
    code, output = _run(wf.schema_argv([broken]))
    assert code != 0 and "timeout-minute" in output


def test_actionlint_finds_an_undefined_step_output(broken: Path) -> None:
    broken.write_text(broken.read_text() + "      - run: echo ${{ steps.nope.outputs.x }}\n")
    code, output = _run(wf.actionlint_argv([broken]))
    assert code == 1 and "nope" in output
