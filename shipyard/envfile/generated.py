"""The files generated from the schema: `.env.example` and the variable reference in
docs/configuration.md (between two marker lines). A unit test fails when they drift."""

from __future__ import annotations

from pathlib import Path

from shipyard.config import PROJECT_ROOT
from shipyard.envfile.render import render_example, variables_markdown
from shipyard.errors import ConfigError

EXAMPLE = Path(".env.example")
CONFIGURATION_DOC = Path("docs/configuration.md")
BEGIN = "<!-- BEGIN variables: generated from shipyard/envfile/schema.py by `inv env.example` -->"
END = "<!-- END variables -->"


def expected_files(root: Path = PROJECT_ROOT) -> dict[Path, str]:
    """Each generated file (relative to `root`) and the text it should have."""
    doc_path = root / CONFIGURATION_DOC
    try:
        doc = doc_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{doc_path}: cannot be read ({exc.strerror})") from None
    start, end = doc.find(BEGIN), doc.find(END)
    if start < 0 or end < start:
        raise ConfigError(f"{doc_path}: the marker lines {BEGIN} ... {END} are missing")
    doc = doc[: start + len(BEGIN)] + "\n\n" + variables_markdown() + "\n" + doc[end:]
    return {EXAMPLE: render_example(), CONFIGURATION_DOC: doc}


def stale_files(root: Path = PROJECT_ROOT) -> list[str]:
    """Generated files whose content differs from what the schema gives."""
    stale = []
    for relative, text in expected_files(root).items():
        path = root / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(str(relative))
    return stale


def write_generated_files(root: Path = PROJECT_ROOT) -> list[str]:
    """Rewrite every generated file from the schema; the names of those written."""
    written = []
    for relative, text in expected_files(root).items():
        (root / relative).write_text(text, encoding="utf-8")
        written.append(str(relative))
    return written
