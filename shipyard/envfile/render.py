"""Writing env files: quoting that python-dotenv and docker compose read the same way, and the
documented layout of `.env.example`, of new files and of the reference in the docs."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from shipyard.envfile.schema import ENVIRONMENTS, GROUPS, VARIABLES, Variable, VarType

_SPECIAL = frozenset("#'\"\\$")
_DOUBLE_QUOTE_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def needs_quotes(value: str) -> bool:
    """True when `value` cannot be written unquoted: whitespace, #, quotes, \\ or $."""
    return any(char in _SPECIAL or char.isspace() or not char.isprintable() for char in value)


def format_assignment(key: str, value: str) -> str:
    """`KEY=value`, quoted only when needed, so that reading it back gives `value` exactly.

    Single quotes keep `$` literal; double quotes carry escapes. A value with `$` and also
    a single quote or a backslash has no spelling both readers agree on: ValueError.
    """
    if not needs_quotes(value):
        return f"{key}={value}"
    if not any(char in "'\\" or not char.isprintable() for char in value):
        return f"{key}='{value}'"
    if "$" in value:
        raise ValueError(f"{key}: a value with $ and ' or \\ cannot be written unambiguously")
    escaped = "".join(_DOUBLE_QUOTE_ESCAPES.get(char, char) for char in value)
    if any(not char.isprintable() for char in escaped):
        raise ValueError(f"{key}: control characters cannot be written in an env file")
    return f'{key}="{escaped}"'


def describe(variable: Variable) -> str:
    """One line: type, constraints and where the variable is required."""
    parts = [_type_text(variable)]
    if variable.choices:
        parts.append("one of " + ", ".join(variable.choices))
    required = [env for env in ENVIRONMENTS if variable.required(env)]
    if len(required) == len(ENVIRONMENTS):
        parts.append("required")
    elif required:
        parts.append("required in " + ", ".join(required))
    else:
        parts.append("optional")
    if variable.default is not None:
        parts.append(f"default {variable.default}")
    allowed = [env for env in ENVIRONMENTS if env in variable.allowed_in]
    if len(allowed) < len(ENVIRONMENTS):
        parts.append(" and ".join(allowed) + " only")
    return "; ".join(parts)


def _type_text(variable: Variable) -> str:
    if variable.type is VarType.SECRET and variable.secret_kind is not None:
        return f"secret ({variable.secret_kind.value}, at least {variable.min_length} characters)"
    low, high = variable.min_value, variable.max_value
    if variable.type is VarType.INT and low is not None:
        return f"int {low}..{high}" if high is not None else f"int >= {low}"
    return variable.type.value


def render_file(header: str, values: Mapping[str, str], env: str | None = None) -> str:
    """An env file: `header`, then every variable by group, documented.

    Variables in `values` are set; the others are shown commented out with their default.
    With `env`, variables that do not belong in that environment are left out.
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for group, title in GROUPS.items():
        members = [
            variable
            for variable in VARIABLES
            if variable.group == group and (env is None or env in variable.allowed_in)
        ]
        if not members:
            continue
        lines += ["", f"# --- {group}: {title} ---"]
        for variable in members:
            lines.append("")
            lines += ["# " + text for text in textwrap.wrap(variable.description, width=86)]
            lines.append(f"# {describe(variable)}")
            if variable.name in values:
                lines.append(format_assignment(variable.name, values[variable.name]))
            else:
                lines.append("# " + format_assignment(variable.name, variable.default or ""))
    return "\n".join(lines) + "\n"


EXAMPLE_HEADER = """\
.env.example: every variable the stack reads, with safe example values.
Generated from shipyard/envfile/schema.py by `inv env.example`; do not edit by hand.
Do not copy it: `inv env.init --env NAME` writes a file with fresh secrets (mode 0600).
Commented-out lines show the default used when a variable is not set.
`inv env.check --env NAME --file PATH` validates a file for an environment."""


def render_example() -> str:
    """The text of `.env.example`: required variables set to safe examples and placeholders."""
    values = {v.name: v.example for v in VARIABLES if v.required_in}
    return render_file(EXAMPLE_HEADER, values)


def variables_markdown() -> str:
    """The variable reference of docs/configuration.md, one table per group."""
    out: list[str] = []
    for group, title in GROUPS.items():
        out += [f"### {group}: {title}", "", "| Variable | Type and rules | Description |"]
        out.append("|---|---|---|")
        for variable in VARIABLES:
            if variable.group == group:
                cell = describe(variable).replace("|", "\\|")
                out.append(f"| `{variable.name}` | {cell} | {variable.description} |")
        out.append("")
    return "\n".join(out)
