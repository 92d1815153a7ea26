"""Lint of the file itself, with the checks users know from dotenv-linter.

Every finding names the line and the check and says how to fix it. Messages quote key
names and column numbers, never values: a value may be a secret.
"""

from __future__ import annotations

import difflib
import re

from shipyard.envfile import references
from shipyard.envfile.findings import Finding
from shipyard.envfile.load import Entry, ParsedFile, Unparsed
from shipyard.envfile.render import needs_quotes
from shipyard.envfile.schema import BY_NAME

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<default>:-[^}]*)?\}")
_BARE_NAME = re.compile(r"\$[A-Za-z_]")
_UNPARSED = re.compile(r"\s*(?:export\s+)?(?P<key>[^=#\s]+)?\s*(?P<equals>=)?\s*(?P<value>.*)")


def lint(parsed: ParsedFile, file: str) -> list[Finding]:
    """Findings about the file's syntax and keys (not about what the values mean)."""
    findings = [_unparsed(statement, file) for statement in parsed.unparsed]
    findings += _trailing_whitespace(parsed.lines, file)
    defined: dict[str, int] = {}
    last_line = {entry.key: entry.line for entry in parsed.entries if entry.value is not None}
    for entry in parsed.entries:
        if entry.value is None:
            # Not an assignment (perhaps a pasted secret): say so, and never echo the text.
            findings.append(
                Finding(
                    file,
                    entry.line,
                    "missing-equals",
                    "the line has no `=`, so it sets nothing",
                    "write KEY=value, or delete the line",
                )
            )
            continue
        findings += [Finding(file, entry.line, *problem) for problem in _key_problems(entry)]
        if entry.key in defined:
            findings.append(
                Finding(
                    file,
                    entry.line,
                    "duplicated-key",
                    f"{entry.key} is already set on line {defined[entry.key]}; this line wins",
                    "keep one of the two lines",
                )
            )
        reference = references.parse(entry.raw_value) if entry.quote != "'" else None
        if reference is not None:  # a secret kept elsewhere, resolved when deploying
            findings += references.findings(entry.key, entry.line, reference, file)
            defined.setdefault(entry.key, entry.line)
            continue
        findings += [Finding(file, entry.line, *problem) for problem in _value_problems(entry)]
        findings += _references(entry, defined, last_line, file)
        defined.setdefault(entry.key, entry.line)
    return findings


def _key_problems(entry: Entry) -> list[tuple[str, str, str]]:
    key = entry.key
    problems = []
    if not _KEY.fullmatch(key):
        bad = next((c for c in key if not (c.isascii() and (c.isalnum() or c == "_"))), key[0])
        what = "starts with a digit" if bad == key[0] and key[0].isdigit() else f"contains {bad!r}"
        problems.append(
            (
                "invalid-key-character",
                f"the key {what}; keys are letters, digits and _, not starting with a digit",
                "rename the key",
            )
        )
    if key != key.upper():
        problems.append(
            (
                "lowercase-key",
                f"{key} has lower-case letters; the stack reads upper-case names",
                f"rename it to {key.upper()}",
            )
        )
    if entry.space_before_equals or entry.space_after_equals:
        problems.append(
            (
                "space-around-equals",
                f"{key} has spaces around `=`",
                f"write {key}=value with nothing between the key, `=` and the value",
            )
        )
    if _KEY.fullmatch(key) and key.upper() not in BY_NAME:
        close = difflib.get_close_matches(key.upper(), list(BY_NAME), n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}?" if close else "remove it, or declare it in the schema"
        problems.append(("unknown-key", f"{key} is not a variable the stack reads", hint))
    return problems


def _value_problems(entry: Entry) -> list[tuple[str, str, str]]:
    key, value = entry.key, entry.value or ""
    if entry.quote is not None and entry.end_line > entry.line:
        return [
            (
                "unbalanced-quotes",
                f"the quote opened on this line closes on line {entry.end_line}",
                "close the quote on the same line; inside double quotes, write \\n for a newline",
            )
        ]
    if entry.quote is None and any(char in value for char in "'\""):
        return [
            (
                "unbalanced-quotes",
                f"the unquoted value of {key} contains a quote character",
                "put the whole value in single quotes, or in double quotes if it contains '",
            )
        ]
    if entry.quote is not None and not needs_quotes(value):
        return [
            (
                "needless-quotes",
                f"the value of {key} is quoted but needs no quotes",
                f"write {key}= followed by the value without quotes",
            )
        ]
    if entry.quote is None and any(char.isspace() for char in value):
        return [
            (
                "unquoted-whitespace",
                f"the value of {key} contains whitespace but is not quoted",
                "put the value in double quotes",
            )
        ]
    return []


def _references(
    entry: Entry, defined: dict[str, int], last_line: dict[str, int], file: str
) -> list[Finding]:
    if entry.quote == "'":
        return []
    findings = []
    text, position = entry.raw_value, 0
    malformed: tuple[int, str] | None = None
    undefined: list[str] = []
    while (position := text.find("$", position)) >= 0:
        match = _REFERENCE.match(text, position)
        if match:
            name = match["name"]
            if match["default"] is None and name not in defined and name not in undefined:
                undefined.append(name)
            position = match.end()
            continue
        if malformed is None:
            malformed = (entry.value_column + position, _malformed_kind(text, position))
        position += 2 if text.startswith("$$", position) else 1
    if malformed:
        column, kind = malformed
        findings.append(
            Finding(
                file,
                entry.line,
                "malformed-reference",
                f"the value of {entry.key} has {kind} at column {column}",
                "write ${NAME} or ${NAME:-default}; single-quote the value to keep $ literal",
            )
        )
    for name in undefined:
        later = last_line.get(name)
        where = (
            f"is set only later, on line {later}"
            if later and later > entry.line
            else "is not set in this file (the file is read alone, not with your shell)"
        )
        findings.append(
            Finding(
                file,
                entry.line,
                "undefined-reference",
                f"{entry.key} refers to ${{{name}}}, which {where}",
                f"set {name} above this line, or write ${{{name}:-default}}",
            )
        )
    return findings


def _malformed_kind(text: str, position: int) -> str:
    if text.startswith("${", position):
        if "}" not in text[position:]:
            return "`${` without a closing `}`"
        return "`${...}` that is not ${NAME} or ${NAME:-default}"
    if _BARE_NAME.match(text, position):
        return "`$NAME` without braces (compose would expand it, python-dotenv does not)"
    if text.startswith("$$", position):
        return "`$$`"
    return "a lone `$`"


def _unparsed(statement: Unparsed, file: str) -> Finding:
    first_line = re.split(r"\r\n|\n|\r", statement.text, maxsplit=1)[0]
    match = _UNPARSED.match(first_line)
    value = match["value"] if match else ""
    if match and match["key"] and match["equals"] and value[:1] in ("'", '"'):
        quote = value[0]
        if not re.search(rf"(?<!\\){quote}", value[1:]):
            return Finding(
                file,
                statement.line,
                "unbalanced-quotes",
                f"the value opens a {quote} quote that is never closed",
                f"add the closing {quote} at the end of the value",
            )
        return Finding(
            file,
            statement.line,
            "parse-error",
            "text follows the closing quote",
            "put the whole value inside the quotes; a comment needs a space and #",
        )
    return Finding(
        file,
        statement.line,
        "parse-error",
        "python-dotenv cannot parse this line",
        "write KEY=value, or a # comment",
    )


def _trailing_whitespace(lines: list[str], file: str) -> list[Finding]:
    return [
        Finding(
            file,
            number,
            "trailing-whitespace",
            "the line ends with whitespace",
            "delete the spaces or tabs at the end of the line",
        )
        for number, line in enumerate(lines, start=1)
        if line != line.rstrip()
    ]
