"""Every ```sh block of README.md and docs/*.md is either run here or marked with what it
needs (the convention is in docs/architecture.md, "Commands in the docs").

A block that nothing marks is run: `bash -euo pipefail` from the repository root, with
this checkout's virtualenv first on PATH, no standard input and TMPDIR in the test's own
temporary directory (so `mktemp` files go away); it must exit 0 within a minute and leave
the checkout as it found it (`git status`). Only blocks made of commands
known to be harmless are run (SAFE_PROGRAMS, SAFE_TASKS): an unmarked block with anything
else fails without running, so a forgotten marker never starts a stack or a VM. A marked
block is not run here, but every `inv` command in it must name a task that exists, with
options that task has: a renamed task or flag fails this test, not a reader.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# What a marked block needs (docs/architecture.md, "Commands in the docs").
NEEDS = {
    "stack": "a running local stack (`inv setup`)",
    "vm": "a VM reached over SSH: the sandbox (`inv sandbox.up`) or a real one",
    "cloud": "a real cloud account, a real VM or a DNS name",
    "machine": "changes this machine or takes minutes (installs, builds, the test suite)",
}
MARKER = re.compile(r"^<!--\s*needs:\s*([a-z-]+)\s*-->$")
FENCE = re.compile(r"^(\s*)```(\S*)")
SEPARATORS = {"&&", "||", ";", "|"}
INV_NAMES = {"inv", ".venv/bin/inv"}
# What an unmarked block may run: read-only programs, and tasks that touch no server.
SAFE_PROGRAMS = INV_NAMES | {"mktemp", "cat", "ls", "grep", "head", "tail", "echo", "test"}
SAFE_TASKS = {"env.init", "env.check", "env.diff"}
CORE_OPTIONS = {"--list", "-l", "--help", "-h", "--version", "-V"}


@dataclass(frozen=True)
class Block:
    """One ```sh block: where it is, what marks it, its text."""

    path: Path
    line: int
    needs: str | None
    text: str

    @property
    def where(self) -> str:
        """FILE:LINE of the opening fence."""
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def sh_blocks(path: Path) -> list[Block]:
    """The ```sh blocks of a Markdown file, each with the marker on the line before it."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        start, body = index, []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith("```"):
            body.append(lines[index])
            index += 1
        index += 1
        if fence.group(2) != "sh":
            continue
        previous = next(
            (lines[i].strip() for i in range(start - 1, -1, -1) if lines[i].strip()), ""
        )
        marker = MARKER.match(previous)
        blocks.append(Block(path, start + 1, marker.group(1) if marker else None, "\n".join(body)))
    return blocks


BLOCKS = [block for document in DOCUMENTS for block in sh_blocks(document)]


def commands(text: str) -> list[list[str]]:
    """The simple commands of a block, each as its words (comments, `[`/`]` dropped; an
    assignment `NAME=$(PROGRAM ...` counts as PROGRAM)."""
    found: list[list[str]] = []
    for line in text.replace("\\\n", " ").splitlines():
        words = shlex.split(line.replace("[", " ").replace("]", " "), comments=True)
        current: list[str] = []
        for word in [*words, ";"]:
            if word in SEPARATORS:
                if current:
                    found.append(current)
                current = []
            elif not current and re.match(r"^[A-Za-z_]\w*=\$\(", word):
                current.append(word.split("$(", 1)[1])
            elif current or not re.match(r"^[A-Za-z_]\w*=", word):
                current.append(word)
    return found


def inv_commands(text: str) -> list[list[str]]:
    """The `inv ...` commands of a block, each as the words after `inv`."""
    return [words[1:] for words in commands(text) if words[0] in INV_NAMES]


def unsafe_commands(text: str) -> list[str]:
    """The commands of a block that the doc test will not run unmarked."""
    unsafe = []
    for words in commands(text):
        program = words[0]
        tasks_named = [word for word in words[1:] if not word.startswith("-")]
        harmless_inv = (
            not tasks_named or tasks_named[0] in SAFE_TASKS or bool(set(words) & CORE_OPTIONS)
        )
        if program not in SAFE_PROGRAMS or (program in INV_NAMES and not harmless_inv):
            unsafe.append(" ".join(words))
    return unsafe


def _flag_names(task_name: str) -> set[str]:
    from tasks import ns

    names = {"help"}
    for argument in ns[task_name].get_arguments():
        names.update(argument.names)
        names.update(f"no-{name}" for name in argument.names)
    return names


def command_problems(words: list[str]) -> list[str]:
    """Why `inv WORDS` would not parse: an unknown task or option (empty when it would)."""
    from tasks import ns

    tasks_named = [word for word in words if not word.startswith("-")]
    if not tasks_named:
        return [] if set(words) & CORE_OPTIONS else [f"inv {' '.join(words)}: no task"]
    task_name = tasks_named[0]
    try:
        ns[task_name]
    except (KeyError, ValueError):
        return [f"inv {task_name}: no such task (`inv --list`)"]
    flags = _flag_names(task_name)
    after_task = words[words.index(task_name) + 1 :]
    return [
        f"inv {task_name}: no option {word}"
        for word in after_task
        if word.startswith("--") and word[2:].split("=", 1)[0].split("|", 1)[0] not in flags
    ]


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_the_docs_have_blocks_of_each_kind() -> None:
    kinds = {block.needs for block in BLOCKS}
    assert None in kinds and len(kinds) > 2, kinds


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.where)
def test_every_block_is_marked_with_a_known_need_or_is_run(block: Block, tmp_path: Path) -> None:
    if block.needs is not None:
        assert block.needs in NEEDS, f"{block.where}: unknown marker {block.needs!r} ({NEEDS})"
        return
    unsafe = unsafe_commands(block.text)
    assert unsafe == [], (
        f"{block.where}: not run, as it does more than the doc test runs unmarked: {unsafe} "
        f"(mark it with <!-- needs: ... -->, one of {sorted(NEEDS)})"
    )
    before = _git_status()
    venv_bin = str(Path(sys.executable).parent)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.text],
        cwd=ROOT,
        env={**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (
        f"{block.where}: exit {result.returncode} (mark it <!-- needs: ... --> if it needs "
        f"more than a checkout)\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}"
    )
    assert _git_status() == before, f"{block.where}: the block changed the checkout"


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.where)
def test_every_inv_command_names_a_real_task_and_options(block: Block) -> None:
    problems = [p for words in inv_commands(block.text) for p in command_problems(words)]
    assert problems == [], f"{block.where}: {problems}"


def test_the_checker_finds_a_wrong_task_and_a_wrong_option() -> None:
    commands = inv_commands("inv deploy --env x --dryrun  # no\ninv deploi && .venv/bin/inv --list")
    problems = [p for words in commands for p in command_problems(words)]
    assert problems == ["inv deploy: no option --dryrun", "inv deploi: no such task (`inv --list`)"]


def test_only_harmless_commands_run_unmarked() -> None:
    text = 'dir=$(mktemp -d)\ninv env.init --env local --file "$dir/x.env"\ninv --help deploy\n'
    assert unsafe_commands(text) == []
    text = "./scripts/bootstrap && .venv/bin/inv setup\ninv deploy --env sandbox --dry-run"
    assert unsafe_commands(text) == [
        "./scripts/bootstrap",
        ".venv/bin/inv setup",
        "inv deploy --env sandbox --dry-run",
    ]


def test_a_marker_sits_on_the_line_before_the_block(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- needs: vm -->\n\n```sh\ninv status --env x\n```\n\n```sh\nls\n```\n")
    blocks = sh_blocks(page)
    assert [(b.line, b.needs, b.text) for b in blocks] == [
        (3, "vm", "inv status --env x"),
        (7, None, "ls"),
    ]
