"""Hooks: executables in `hooks/` run on the deployer's machine around a deploy or a
rollback (`pre-deploy`, `post-deploy`, `post-rollback`), with the release facts in their
environment (SHIPYARD_ENV, SHIPYARD_RELEASE, SHIPYARD_VERSION, ...). Never a secret: the
env file is not read into their environment.

A missing or non-executable hook is skipped with a note. A failing `pre-deploy` hook aborts
before anything changes (exit 1); a failing post hook is reported as a warning, since the
deploy or rollback it follows has already happened.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard import console
from shipyard.config import PROJECT_ROOT
from shipyard.errors import CommandFailedError
from shipyard.remote import LocalRunner

HOOKS_DIR_VARIABLE = "SHIPYARD_HOOKS_DIR"
"""Overrides the hooks directory (default: `hooks/` in the repository)."""
HOOK_TIMEOUT = 600


@dataclass(frozen=True)
class HookFacts:
    """What a hook learns about the release."""

    action: str
    env: str
    release: str
    version: str
    git_sha: str
    previous_release: str
    app_image: str
    host: str
    public_url: str
    who: str

    def environment(self) -> dict[str, str]:
        """The SHIPYARD_* variables a hook receives."""
        return {f"SHIPYARD_{name.upper()}": value for name, value in vars(self).items()}


def hooks_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The hooks directory: $SHIPYARD_HOOKS_DIR, else `hooks/` in the repository."""
    given = (os.environ if environ is None else environ).get(HOOKS_DIR_VARIABLE)
    return Path(given) if given else PROJECT_ROOT / "hooks"


def find(directory: Path, name: str) -> tuple[Path | None, str]:
    """The hook to run, or None with the note saying why it is skipped."""
    path = directory / name
    if not path.is_file():
        return None, f"no {name} hook ({path}): skipped"
    if not os.access(path, os.X_OK):
        return None, f"{path} is not executable: skipped (chmod +x it to enable)"
    return path, ""


def run(name: str, facts: HookFacts, directory: Path | None = None) -> bool:
    """Run hook `name` if there is one; True when it ran and exited 0 (or was skipped).

    A failing `pre-*` hook raises CommandFailedError (exit 1); a failing post hook warns."""
    path, note = find(directory or hooks_dir(), name)
    if path is None:
        console.skipped(note)
        return True
    console.step(f"hook {name}")
    result = LocalRunner(PROJECT_ROOT).run(
        [str(path)], env=facts.environment(), timeout=HOOK_TIMEOUT
    )
    report = console.done if result.ok else console.warn
    for line in (result.stdout + result.stderr).splitlines():
        report(f"{name}: {line}")
    if result.ok:
        return True
    if name.startswith("pre-"):
        raise CommandFailedError(
            f"{name} hook {path} failed (exit {result.exit_code}): nothing was changed"
        )
    console.warn(
        f"{name} hook {path} failed (exit {result.exit_code}); {facts.action} itself is done"
    )
    return False
