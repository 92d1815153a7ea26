"""The staging workflow's commands, run verbatim against the session's sandbox VM: each
`run:` step of `.github/workflows/deploy-staging.yml` after the bootstrap goes to bash as
GitHub runs it, with the job's environment (SHIPYARD_ENV set to `sandbox` instead of
`staging`) and its secrets taken from the sandbox's own files, so the env file, the deploy
key and known_hosts are written by the workflow's step exactly as on GitHub."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import yaml

from shipyard.config import PROJECT_ROOT
from shipyard.images.app import read_build_info
from shipyard.remote import LocalRunner
from tests.e2e.deploy_support import served_version
from tests.e2e.support import IsolatedSandbox

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "deploy-staging.yml"
GITHUB_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
_EXPRESSION = re.compile(r"^\$\{\{\s*(?P<name>[\w.]+)\s*\}\}$")


def _job() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["deploy"]


def _resolve(value: str, contexts: dict[str, str]) -> str:
    """A step's `${{ secrets.X }}` value from `contexts`; any other expression fails."""
    match = _EXPRESSION.match(str(value))
    if not match:
        assert "${{" not in str(value), f"unsupported expression {value}"
        return str(value)
    assert match["name"] in contexts, f"{WORKFLOW.name}: {value} has no stand-in here"
    return contexts[match["name"]]


def test_the_staging_workflow_deploys_the_sandbox(sandbox: IsolatedSandbox, tmp_path: Path):
    job = _job()
    contexts = {
        "secrets.ENV_FILE": sandbox.env_file.read_text(encoding="utf-8"),
        "secrets.SSH_PRIVATE_KEY": sandbox.key_file.read_text(encoding="utf-8"),
        "secrets.SSH_KNOWN_HOSTS": sandbox.known_hosts.read_text(encoding="utf-8"),
        "secrets.SSH_HOSTNAME": "",
    }
    runner_files = tmp_path / "runner"  # where the job's step writes them, fresh
    overrides = {
        **sandbox.overrides(),
        "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_ENV_FILE": str(runner_files / ".env.sandbox"),
        "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_KNOWN_HOSTS": str(runner_files / "known_hosts"),
        "INVOKE_SHIPYARD_ENVIRONMENTS_SANDBOX_SSH_KEY": str(runner_files / "id_deploy"),
    }
    assert job["env"] == {"SHIPYARD_ENV": "staging"}
    job_env = {**os.environ, **overrides, "SHIPYARD_ENV": "sandbox", "CI": "true"}
    job_env["HOME"] = str(tmp_path / "home")
    ran = []
    for step in job["steps"]:
        if "run" not in step or step["run"] == "./scripts/bootstrap":
            continue
        step_env = {k: _resolve(v, contexts) for k, v in (step.get("env") or {}).items()}
        done = subprocess.run(
            [*GITHUB_BASH, step["run"]],
            cwd=PROJECT_ROOT,
            env={**job_env, **step_env},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=1800,
            check=False,
        )
        assert done.returncode == 0, f"step {step['name']!r}:\n{done.stdout}\n{done.stderr}"
        for secret in ("SECRET_KEY=", "PRIVATE KEY"):
            assert secret not in done.stdout + done.stderr, f"step {step['name']!r} leaked"
        ran.append(step["run"])

    assert ran == [
        '.venv/bin/inv ci.access --env "$SHIPYARD_ENV"',
        '.venv/bin/inv images.build --env "$SHIPYARD_ENV"',
        '.venv/bin/inv deploy --env "$SHIPYARD_ENV" --yes',
        '.venv/bin/inv smoke --env "$SHIPYARD_ENV"',
    ]
    for written in (".env.sandbox", "id_deploy"):
        assert stat.S_IMODE((runner_files / written).stat().st_mode) == 0o600
    assert (runner_files / ".env.sandbox").read_text() == contexts["secrets.ENV_FILE"]
    expected = read_build_info(PROJECT_ROOT, LocalRunner(PROJECT_ROOT))
    assert served_version(sandbox) == expected.version
