"""Read an env file alone: python-dotenv parses it, nothing comes from the process environment.

`python-dotenv`'s own `dotenv_values` fills `${VAR}` from `os.environ` when the file does
not set VAR, so a file could look valid only on the machine that checks it. Here references
resolve against earlier lines of the same file and nothing else. Single-quoted values stay
literal, as docker compose reads them.
"""

from __future__ import annotations

import io
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from shipyard import masking
from shipyard.envfile.schema import looks_secret
from shipyard.envfile.secrets import is_placeholder
from shipyard.errors import ConfigError

_NEWLINE = re.compile(r"\r\n|\n|\r")
_LEADING_SPACE = re.compile(r"\s*")
_STATEMENT = re.compile(
    r"(?P<export>export[^\S\r\n]+)?(?P<key>'[^']+'|[^=#\s]+)(?P<before>[^\S\r\n]*)"
    r"(?:=(?P<after>[^\S\r\n]*)(?P<rest>.*))?",
    re.DOTALL,
)
_QUOTED = {
    "'": re.compile(r"'((?:\\.|[^'\\])*)'", re.DOTALL),
    '"': re.compile(r'"((?:\\.|[^"\\])*)"', re.DOTALL),
}
_UNPARSED_ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([^=\s]+)\s*=\s*(.*)")


@dataclass(frozen=True)
class Entry:
    """One `KEY=value` statement as written in the file."""

    key: str
    value: str | None
    """The value after unquoting and escapes (not yet interpolated); None without `=`."""
    line: int
    end_line: int
    quote: str | None
    """`'` or `"` when the value is quoted."""
    raw_value: str
    """The value as written: between the quotes, or unquoted without its comment."""
    value_column: int
    """1-based column where `raw_value` starts."""
    space_before_equals: bool
    space_after_equals: bool


@dataclass(frozen=True)
class Unparsed:
    """A statement python-dotenv could not parse."""

    line: int
    text: str


@dataclass(frozen=True)
class ParsedFile:
    """An env file split into statements, with its raw lines for line-level checks."""

    lines: list[str]
    entries: list[Entry]
    unparsed: list[Unparsed]


def read_text(path: Path) -> str:
    """The file's text, or a one-line ConfigError saying why it cannot be read."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(f"{path}: is a directory, not an env file", hint=_FILE_HINT)
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{path}: is not a regular file", hint=_FILE_HINT)
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file", hint=_FILE_HINT) from None
    except PermissionError:
        raise ConfigError(
            f"{path}: cannot be read (permission denied)",
            hint="check its owner and mode: it should be yours, mode 0600",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})", hint=_FILE_HINT) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})",
            hint="save the file as UTF-8",
        ) from None


_FILE_HINT = "pass --file PATH, or create one with `inv env.init --env NAME`"


def parse_env_text(text: str) -> ParsedFile:
    """Split env-file text into statements with python-dotenv, keeping line numbers."""
    from dotenv.parser import parse_stream

    text = text.removeprefix("\ufeff")
    entries: list[Entry] = []
    unparsed: list[Unparsed] = []
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        lead = _LEADING_SPACE.match(original)
        offset = lead.end() if lead else 0
        line = binding.original.line + _count_newlines(original[:offset])
        statement = original[offset:]
        if binding.error:
            unparsed.append(Unparsed(line, statement))
        elif binding.key is not None:
            entries.append(_entry(binding.key, binding.value, line, statement))
    return ParsedFile(lines=_NEWLINE.split(text), entries=entries, unparsed=unparsed)


def _entry(key: str, value: str | None, line: int, statement: str) -> Entry:
    match = _STATEMENT.match(statement)
    if match is None:  # pragma: no cover - python-dotenv parsed this very statement
        raise ValueError(f"line {line}: unexpected statement shape")
    rest = match["rest"] or ""
    prefix = len(match["export"] or "") + len(match["key"]) + len(match["before"])
    column = prefix + 1 + len(match["after"] or "") + 1
    quote = rest[:1] if rest[:1] in _QUOTED else None
    if quote is not None:
        quoted = _QUOTED[quote].match(rest)
        raw_value = quoted.group(1) if quoted else rest[1:]
        column += 1
    else:
        raw_value = value or ""
    body = statement.rstrip("\r\n")
    return Entry(
        key=key,
        value=value,
        line=line,
        end_line=line + _count_newlines(body),
        quote=quote,
        raw_value=raw_value,
        value_column=column,
        space_before_equals=bool(match["before"]) and match["rest"] is not None,
        space_after_equals=bool(match["after"]),
    )


def _count_newlines(text: str) -> int:
    return len(_NEWLINE.findall(text))


def interpolate(entries: list[Entry]) -> dict[str, str]:
    """Values with `${VAR}` and `${VAR:-default}` resolved from earlier lines of the file only.

    Keys without `=` are left out; a key set twice keeps its last value (as python-dotenv).
    """
    from dotenv.variables import parse_variables

    values: dict[str, str] = {}
    for entry in entries:
        if entry.value is None:
            continue
        if entry.quote == "'":
            values[entry.key] = entry.value
        else:
            atoms = parse_variables(entry.value)
            values[entry.key] = "".join(atom.resolve(values) for atom in atoms)
    return values


def register_secrets(parsed: ParsedFile, values: dict[str, str]) -> None:
    """Hand every secret value of the file to `shipyard.masking`, before anything is printed.

    Declared secrets are registered, and so are keys that sound like one (a misspelt
    secret name) and the values of secret lines python-dotenv could not parse. Known
    placeholders are public knowledge and are left alone.
    """
    candidates: list[str] = []
    for entry in parsed.entries:
        if looks_secret(entry.key):
            candidates += [entry.raw_value, entry.value or "", values.get(entry.key, "")]
    for statement in parsed.unparsed:
        match = _UNPARSED_ASSIGNMENT.match(statement.text)
        if match and looks_secret(match[1]):
            raw = match[2].strip()
            candidates += [raw, raw.strip("'\"")]
    masking.register(*(value for value in candidates if value and not is_placeholder(value)))


def read_env_file(path: Path) -> dict[str, str]:
    """Parse `path` alone (never the process environment); register its secrets for masking."""
    parsed = parse_env_text(read_text(path))
    values = interpolate(parsed.entries)
    register_secrets(parsed, values)
    return values
