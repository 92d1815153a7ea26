"""Values against the schema for one environment: required keys, types, constraints, rules."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from shipyard.envfile.findings import Finding
from shipyard.envfile.schema import (
    ENVIRONMENTS,
    HOSTNAME,
    SET_TOGETHER,
    VARIABLES,
    Variable,
    VarType,
)
from shipyard.envfile.secrets import is_placeholder, secret_problems

TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
FALSE = frozenset({"false", "0", "no", "off", "f", "n"})

_HOSTNAME = re.compile(HOSTNAME)
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):(?P<port>[0-9]{1,5})")
_EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_INT = re.compile(r"-?[0-9]+")

Problem = tuple[str, str, str]
"""(check id, message, fix)"""


def parse_bool(value: str) -> bool | None:
    """The boolean the app reads from `value` (pydantic's spellings), or None if it is not one."""
    folded = value.strip().lower()
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    return None


def show(value: str) -> str:
    """A non-secret value, quoted and shortened for a message."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def type_problem(variable: Variable, value: str) -> Problem | None:
    """What is wrong with a non-empty `value` for `variable`'s type and constraints, if anything."""
    name = variable.name
    kind = variable.type
    if kind is VarType.INT:
        return _int_problem(variable, value)
    if kind is VarType.BOOL and parse_bool(value) is None:
        return ("invalid-bool", f"{name} is {show(value)}, not a boolean", "write true or false")
    if kind is VarType.URL:
        return _url_problem(name, value)
    if kind is VarType.EMAIL and not _EMAIL.fullmatch(value):
        return ("invalid-email", f"{name} is {show(value)}, not an email address", "write x@y.z")
    if kind is VarType.HOST_PORT:
        return _host_port_problem(name, value)
    if variable.choices and value not in variable.choices:
        allowed = ", ".join(variable.choices)
        return (
            "invalid-choice",
            f"{name} is {show(value)}; allowed: {allowed}",
            "use one of those",
        )
    if variable.pattern and not re.search(variable.pattern, value):
        return (
            "invalid-format",
            f"{name} is {show(value)}, which does not match {variable.pattern}",
            f"see {name} in .env.example",
        )
    return None


def _int_problem(variable: Variable, value: str) -> Problem | None:
    name = variable.name
    if not _INT.fullmatch(value):
        return ("invalid-int", f"{name} is {show(value)}, not a whole number", "write digits only")
    number = int(value)
    low, high = variable.min_value, variable.max_value
    if (low is not None and number < low) or (high is not None and number > high):
        if high is None:
            bounds = f"at least {low}"
        elif low is None:
            bounds = f"at most {high}"
        else:
            bounds = f"{low} to {high}"
        return ("out-of-range", f"{name} is {number}; allowed: {bounds}", f"use {bounds}")
    return None


def _url_problem(name: str, value: str) -> Problem | None:
    fix = "write scheme://host[:port][/path], e.g. https://docs.example.com"
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return ("invalid-url", f"{name} is {show(value)}, not a valid URL", fix)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or any(char.isspace() for char in value)
    ):
        return ("invalid-url", f"{name} is {show(value)}, not an http(s) URL", fix)
    if parts.query or parts.fragment or parts.username or parts.password:
        return (
            "invalid-url",
            f"{name} has credentials, a query or a fragment",
            "keep only scheme, host, port and path",
        )
    return None


def _host_port_problem(name: str, value: str) -> Problem | None:
    fix = "write host:port without a scheme, e.g. objectstore:9000; S3_SECURE picks TLS"
    match = _HOST_PORT.fullmatch(value)
    if "://" in value or match is None:
        return ("invalid-host-port", f"{name} is {show(value)}, not host:port", fix)
    host, port = match["host"], int(match["port"])
    if not 1 <= port <= 65535:
        return ("invalid-host-port", f"{name} has port {port}, outside 1..65535", fix)
    if not host.startswith("[") and not _HOSTNAME.fullmatch(host):
        return ("invalid-host-port", f"{name} has {show(host)}, not a host name", fix)
    return None


def environment_problem(variable: Variable, value: str, env: str) -> Problem | None:
    """A rule of `variable` for `env` that a well-typed `value` breaks, if any."""
    name = variable.name
    if variable.must_equal_environment and value != env:
        return (
            "app-env-mismatch",
            f"{name} is {show(value)} but the target environment is {env!r}",
            f"set {name}={env}, or check the file you passed",
        )
    if env in variable.https_in and urlsplit(value).scheme != "https":
        return ("insecure-url", f"{name} is not https, in {env}", "use an https:// URL")
    if env in variable.false_in and parse_bool(value):
        return ("must-be-false", f"{name} is true, in {env}", f"set {name}=false")
    if env in variable.forbidden_in and value in variable.forbidden_values:
        return (
            "forbidden-value",
            f"{name} must not be {show(value)} in {env}",
            "use a role of its own, not the superuser",
        )
    return None


def validate(
    values: Mapping[str, str],
    lines: Mapping[str, int],
    env: str,
    file: str,
    referenced: Collection[str] = (),
) -> list[Finding]:
    """Findings for `values` (interpolated, from the file alone) as the env file of `env`.

    `lines` gives the line of each key's last assignment. Variables in `referenced` are
    references to a secret store: their values are judged once resolved, when deploying.
    """
    findings: list[Finding] = []
    seen_secrets: dict[str, str] = {}
    for variable in VARIABLES:
        name = variable.name
        if name in referenced:
            continue
        value = values.get(name, "")
        line = lines.get(name)

        def add(problem: Problem, line: int | None = line) -> None:
            findings.append(Finding(file, line, *problem))

        if not value:
            if variable.required(env):
                state = "is empty" if name in values else "is missing"
                add(
                    (
                        "missing-required",
                        f"{name} is required in {env} but {state}",
                        f"set {name}; see .env.example",
                    )
                )
            continue
        if env not in variable.allowed_in:
            only = " and ".join(e for e in ENVIRONMENTS if e in variable.allowed_in)
            add(
                (
                    "not-for-environment",
                    f"{name} is for {only} only, not {env}",
                    f"remove {name} from this file",
                )
            )
            continue
        if variable.is_secret:
            for secret_problem in secret_problems(variable, value, env):
                add((secret_problem.check, secret_problem.message, secret_problem.fix))
            if not is_placeholder(value):
                if value in seen_secrets:
                    add(
                        (
                            "reused-secret",
                            f"{name} has the same value as {seen_secrets[value]}",
                            "give every secret its own random value",
                        )
                    )
                seen_secrets.setdefault(value, name)
            continue
        problem = type_problem(variable, value) or environment_problem(variable, value, env)
        if problem:
            add(problem)
    return findings + pair_findings(values, lines, file)


def pair_findings(values: Mapping[str, str], lines: Mapping[str, int], file: str) -> list[Finding]:
    """A finding for each pair of SET_TOGETHER of which the file sets only one."""
    findings = []
    for first, second in SET_TOGETHER:
        if bool(values.get(first)) == bool(values.get(second)):
            continue
        given, missing = (first, second) if values.get(first) else (second, first)
        findings.append(
            Finding(
                file,
                lines.get(given),
                "incomplete-pair",
                f"{given} is set but {missing} is not",
                f"set both {first} and {second}, or neither",
            )
        )
    return findings
