"""What `inv lint` checks besides Python: every Dockerfile and every shell script of the
repository (tracked by git), found by name and by their `#!` line, so a new one is
linted without anyone remembering to list it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_SHELL_SHEBANG = re.compile(rb"^#!\s*(/usr)?/bin/(env\s+)?(ba|da)?sh\b")
_SHELL_SUFFIXES = (".sh", ".bash", ".envsh")


def tracked_files(root: Path) -> list[Path]:
    """The files git tracks under `root` (and new ones it does not ignore); outside a git
    checkout, every file but those under hidden directories and the virtualenv."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        return [
            path
            for path in sorted(root.rglob("*"))
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(root).parts[:-1])
        ]
    names = listed.stdout.decode().splitlines()
    return [root / name for name in names if (root / name).is_file()]


def is_shell_script(path: Path) -> bool:
    """A `.sh`-like name, or a first line that runs sh, bash or dash."""
    if path.name.endswith(_SHELL_SUFFIXES):
        return True
    with path.open("rb") as handle:
        return bool(_SHELL_SHEBANG.match(handle.readline(200)))


def shell_scripts(root: Path) -> list[str]:
    """Every tracked shell script, relative to `root`, sorted (hooks/*.sample included)."""
    return sorted(
        str(path.relative_to(root)) for path in tracked_files(root) if is_shell_script(path)
    )


def dockerfiles(root: Path) -> list[str]:
    """Every tracked Dockerfile (`Dockerfile` or `*.Dockerfile`), relative to `root`."""
    return sorted(
        str(path.relative_to(root))
        for path in tracked_files(root)
        if path.name == "Dockerfile" or path.name.endswith(".Dockerfile")
    )
