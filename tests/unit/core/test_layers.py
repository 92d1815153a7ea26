"""The layers show in the imports: nothing imported inside a function to dodge a cycle,
and the packages below others never import them."""

from __future__ import annotations

import ast
from pathlib import Path

from shipyard.config import PROJECT_ROOT

LIBRARY = PROJECT_ROOT / "shipyard"
BELOW = {
    # package: what it must never import
    "shipyard.vm": ("shipyard.deploy", "shipyard.backup", "tasks"),
    "shipyard.remote": ("shipyard.deploy", "shipyard.backup", "shipyard.vm", "tasks"),
    "shipyard.backup": ("shipyard.deploy", "tasks"),
    "shipyard.deploy": ("tasks",),
}


def _module(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST) -> list[tuple[ast.stmt, str, bool]]:
    """(statement, imported module, at module level) for every import."""
    found: list[tuple[ast.stmt, str, bool]] = []
    top_level = {id(node) for node in getattr(tree, "body", [])}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node, node.module, id(node) in top_level))
        elif isinstance(node, ast.Import):
            found += [(node, alias.name, id(node) in top_level) for alias in node.names]
    return found


def test_no_library_module_imports_shipyard_inside_a_function() -> None:
    nested = [
        f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} imports {name}"
        for path in sorted(LIBRARY.rglob("*.py"))
        for node, name, top in _imports(ast.parse(path.read_text(encoding="utf-8")))
        if not top and name.startswith("shipyard")
    ]
    assert nested == []


def test_lower_packages_never_import_the_ones_above() -> None:
    upward = [
        f"{_module(path)} imports {name}"
        for path in sorted(LIBRARY.rglob("*.py"))
        for package, forbidden in BELOW.items()
        if _module(path).startswith(package)
        for _, name, _ in _imports(ast.parse(path.read_text(encoding="utf-8")))
        if name.startswith(forbidden)
    ]
    assert upward == []
