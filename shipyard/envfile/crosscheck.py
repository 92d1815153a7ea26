"""Checks that relate the env file to the rest of the project: the `${VAR}` references of
the compose files and nginx templates, the environment's public URL, the S3 settings."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from shipyard.config import PROJECT_ROOT, Environment
from shipyard.envfile.findings import Finding
from shipyard.envfile.rules import parse_bool, show, type_problem
from shipyard.envfile.schema import BY_NAME, DEV, SERVERS

IN_STACK_OBJECT_STORE = "objectstore"
NGINX_TEMPLATES = PROJECT_ROOT / "nginx"

# Compose: `$$` is a literal dollar; `${NAME...}` and `$NAME` interpolate.
_COMPOSE_TOKEN = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")
# nginx templates go through envsubst, which leaves nginx's own lower-case $variables alone.
_TEMPLATE_TOKEN = re.compile(r"\$\$|\$\{([A-Z_][A-Z0-9_]*)\}|\$([A-Z_][A-Z0-9_]*)")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_LOOPBACK_HOSTS = frozenset({"localhost", "::1", "ip6-localhost"})
_IPV4 = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}")


def references(text: str, *, template: bool = False) -> Iterator[tuple[str, int]]:
    """Every variable name `text` interpolates, with its line; comment lines are skipped."""
    token = _TEMPLATE_TOKEN if template else _COMPOSE_TOKEN
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for match in token.finditer(line):
            name = match[1] or match[2]
            if name:
                yield name, number


def reference_findings(files: list[Path], templates: list[Path]) -> list[Finding]:
    """Every `${VAR}` the compose files and nginx templates use must be in the schema."""
    findings = []
    for path, template in [(file, False) for file in files] + [(t, True) for t in templates]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        reported: set[str] = set()
        for name, line in references(text, template=template):
            if name in BY_NAME or name in reported:
                continue
            reported.add(name)
            findings.append(
                Finding(
                    _display(path),
                    line,
                    "undeclared-variable",
                    f"${{{name}}} is used here but not declared in the env-file schema",
                    "declare it in shipyard/envfile/schema.py and run `inv env.example`,"
                    " or stop using it",
                )
            )
    return findings


def public_url_finding(
    values: Mapping[str, str], lines: Mapping[str, int], env: Environment, file: str
) -> Finding | None:
    """PUBLIC_URL must be the environment's public_url from invoke.yaml."""
    value = values.get("PUBLIC_URL", "")
    if not value or type_problem(BY_NAME["PUBLIC_URL"], value) is not None:
        return None
    if _normal_url(value) == _normal_url(env.public_url):
        return None
    return Finding(
        file,
        lines.get("PUBLIC_URL"),
        "public-url-mismatch",
        f"PUBLIC_URL is {show(value)} but invoke.yaml gives {env.name} the public_url"
        f" {env.public_url!r}",
        "make the two equal, in this file or in invoke.yaml",
    )


def bucket_problem(name: str) -> str | None:
    """Why `name` is not a valid S3 bucket name, or None."""
    if not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters long"
    if not _BUCKET.fullmatch(name):
        return "may use only a-z, 0-9, . and -, and must start and end with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain .., .- or -."
    if _IPV4.fullmatch(name):
        return "must not look like an IP address"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return "uses a prefix or suffix S3 reserves"
    return None


def s3_findings(
    values: Mapping[str, str], lines: Mapping[str, int], env: str, file: str
) -> list[Finding]:
    """The bucket name is valid; TLS is on in staging and production outside the stack."""
    findings = []
    bucket = values.get("S3_BUCKET", "")
    problem = bucket_problem(bucket) if bucket else None
    if problem:
        findings.append(
            Finding(
                file,
                lines.get("S3_BUCKET"),
                "invalid-bucket-name",
                f"S3_BUCKET {show(bucket)} {problem}",
                "use lower-case letters, digits and -, e.g. documents",
            )
        )
    for prefix in ("S3", "BACKUP_S3"):
        endpoint = values.get(f"{prefix}_ENDPOINT") or BY_NAME[f"{prefix}_ENDPOINT"].default
        host = (endpoint or "").rsplit(":", 1)[0]
        secure = values.get(f"{prefix}_SECURE") or BY_NAME[f"{prefix}_SECURE"].default or ""
        if env in SERVERS and endpoint and parse_bool(secure) is False:
            if host == IN_STACK_OBJECT_STORE:
                continue
            findings.append(
                Finding(
                    file,
                    lines.get(f"{prefix}_SECURE", lines.get(f"{prefix}_ENDPOINT")),
                    "insecure-s3",
                    f"{prefix}_SECURE is false but {prefix}_ENDPOINT is outside the stack,"
                    f" in {env}",
                    f"set {prefix}_SECURE=true"
                    + (", or use the in-stack objectstore:9000" if prefix == "S3" else ""),
                )
            )
    return findings


def pitr_findings(
    values: Mapping[str, str], lines: Mapping[str, int], env: Environment, file: str
) -> list[Finding]:
    """Where the stack archives WAL (compose.pitr.yaml), pgBackRest in the db container
    must reach a backup store: BACKUP_S3_ENDPOINT outside local and sandbox (which default
    to the in-stack store), and never a loopback address, which in the container is the
    container itself."""
    if not env.archives_wal:
        return []
    endpoint = values.get("BACKUP_S3_ENDPOINT", "")
    off = f"or take compose/compose.pitr.yaml out of {env.name}'s compose_files in invoke.yaml"
    if not endpoint:
        if values.get("APP_ENV", env.name) in DEV:
            return []
        return [
            Finding(
                file,
                None,
                "pitr-without-store",
                f"{env.name} archives WAL (compose.pitr.yaml) but BACKUP_S3_ENDPOINT is not"
                " set: no segment could leave the VM, and pg_wal would fill its disk",
                f"set BACKUP_S3_ENDPOINT and its keys (docs/backups.md), {off}",
            )
        ]
    host = endpoint.rsplit(":", 1)[0].strip("[]").lower()
    if host in _LOOPBACK_HOSTS or host.startswith("127."):
        return [
            Finding(
                file,
                lines.get("BACKUP_S3_ENDPOINT"),
                "pitr-loopback-store",
                f"BACKUP_S3_ENDPOINT {show(endpoint)} is a loopback address, which inside the"
                " db container that archives WAL is the container itself",
                "name the store by an address the containers reach (a host name or this"
                f" machine's own IP), leave it unset in local and sandbox, {off}",
            )
        ]
    return []


def crosscheck(
    values: Mapping[str, str],
    lines: Mapping[str, int],
    env: Environment,
    file: str,
    *,
    nginx_dir: Path = NGINX_TEMPLATES,
) -> list[Finding]:
    """Every cross-check for the env file of `env`."""
    compose_files = [env.path(file) for file in env.compose_files]
    templates = sorted(nginx_dir.rglob("*.template")) if nginx_dir.is_dir() else []
    findings = reference_findings([p for p in compose_files if p.is_file()], templates)
    url = public_url_finding(values, lines, env, file)
    findings += [url] if url else []
    return (
        findings
        + s3_findings(values, lines, env.name, file)
        + pitr_findings(values, lines, env, file)
    )


def _normal_url(url: str) -> tuple[str, str, int, str] | None:
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    except ValueError:
        return None
    return scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
