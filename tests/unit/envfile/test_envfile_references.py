"""Secret references in env files: `${op://...}` read with a fake 1Password CLI on PATH (it
speaks `op read`), `$(command)` with real files. `inv env.check` validates them without
running anything; deploy preflight resolves them here, masked, and validates the values."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from shipyard import masking
from shipyard.deploy.preflight import env_file
from shipyard.envfile.init import new_env_text
from shipyard.envfile.references import Kind, Reference, parse
from shipyard.envfile.resolve import resolve_text
from shipyard.errors import ConfigError
from tests.unit.envfile.support import PUBLIC_URLS, Runner, environment

PASSWORD = "Op-Resolved-Pass-0123456789"
SECRET_KEY = "File-Resolved-Secret-Key-0123456789abcdef"

FAKE_OP = """#!/bin/sh
# A fake 1Password CLI: `op read [--no-newline] op://VAULT/ITEM/FIELD` prints the field
# from $FAKE_OP_VAULT/VAULT/ITEM/FIELD; every call is logged to $FAKE_OP_LOG.
echo "$@" >> "$FAKE_OP_LOG"
[ "$1" = read ] || { echo "[ERROR] unknown command $1" >&2; exit 1; }
shift
[ "$1" = --no-newline ] && shift
path="${1#op://}"
[ -f "$FAKE_OP_VAULT/$path" ] || { echo "[ERROR] could not read secret $1: not found" >&2; exit 1; }
cat "$FAKE_OP_VAULT/$path"
"""


@pytest.fixture
def fake_op(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`op` on PATH, with one vault item: op://prod/db/password. Returns the call log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    op = bin_dir / "op"
    op.write_text(FAKE_OP, encoding="utf-8")
    op.chmod(op.stat().st_mode | stat.S_IXUSR)
    vault = tmp_path / "vault" / "prod" / "db"
    vault.mkdir(parents=True)
    (vault / "password").write_text(PASSWORD, encoding="utf-8")
    log = tmp_path / "op.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_OP_VAULT", str(tmp_path / "vault"))
    monkeypatch.setenv("FAKE_OP_LOG", str(log))
    return log


def _with_references(env_name: str, secret_file: Path) -> str:
    text = new_env_text(env_name, public_url=PUBLIC_URLS[env_name])
    text = re.sub(r"(?m)^POSTGRES_PASSWORD=.*$", "POSTGRES_PASSWORD=${op://prod/db/password}", text)
    return re.sub(r"(?m)^S3_SECRET_KEY=.*$", f'S3_SECRET_KEY="$(cat {secret_file})"', text)


def _secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "s3-secret-key"
    path.write_text(SECRET_KEY + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def test_references_are_recognised_by_their_form():
    assert parse("${op://prod/db/password}") == Reference(
        Kind.ONE_PASSWORD, "op://prod/db/password"
    )
    assert parse("$(pass show db)") == Reference(Kind.COMMAND, "pass show db")
    assert parse("${POSTGRES_USER}") is None and parse("plain") is None
    assert parse("${op://prod}").problem() == "op://prod is not op://VAULT/ITEM/[SECTION/]FIELD"
    assert parse("$(cat 'unclosed)").problem().startswith("the command does not parse")
    assert Reference(Kind.ONE_PASSWORD, "op://a/b/c").argv() == [
        "op", "read", "--no-newline", "op://a/b/c",
    ]  # fmt: skip


def test_check_validates_references_without_resolving_them(inv: Runner, fake_op, tmp_path):
    path = tmp_path / ".env.staging"
    path.write_text(_with_references("staging", _secret_file(tmp_path)), encoding="utf-8")
    result = inv("env.check", "--env", "staging")
    assert result.code == 0, result.out + result.err
    assert f"{path}: valid for staging" in result.err + result.out
    assert not fake_op.exists()  # op was never run


def test_check_reports_malformed_misplaced_and_unrunnable_references(
    inv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    text = new_env_text("staging", public_url=PUBLIC_URLS["staging"])
    text = re.sub(r"(?m)^POSTGRES_PASSWORD=.*$", "POSTGRES_PASSWORD=${op://prod/db}", text)
    text = re.sub(r"(?m)^S3_SECRET_KEY=.*$", "S3_SECRET_KEY=${op://prod/s3/secret}", text)
    text += "LOG_LEVEL=$(echo INFO)\n"
    (tmp_path / ".env.staging").write_text(text, encoding="utf-8")
    no_op = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "op").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join(no_op))
    result = inv("env.check", "--env", "staging")
    assert result.code == 2
    lines = result.out.splitlines()
    assert any(
        "invalid-reference: POSTGRES_PASSWORD: op://prod/db is not op://VAULT/ITEM/" in line
        for line in lines
    )
    assert any(
        "reference-tool-missing: S3_SECRET_KEY: its reference needs `op`" in line for line in lines
    )
    assert any("reference-not-secret: LOG_LEVEL is a reference" in line for line in lines)


def test_resolution_runs_here_and_masks_every_value(fake_op, tmp_path):
    text = _with_references("staging", _secret_file(tmp_path))
    resolved = resolve_text(text, ".env.staging")
    assert f"POSTGRES_PASSWORD={PASSWORD}\n" in resolved
    assert f"S3_SECRET_KEY={SECRET_KEY}\n" in resolved
    assert "op://" not in resolved and "$(cat" not in resolved
    assert fake_op.read_text().split() == ["read", "--no-newline", "op://prod/db/password"]
    assert masking.mask(f"x {PASSWORD} {SECRET_KEY}") == f"x {masking.MASK} {masking.MASK}"


def test_a_failing_reference_is_one_line_naming_the_line(fake_op, tmp_path):
    text = "APP_ENV=staging\nPOSTGRES_PASSWORD=${op://prod/db/missing}\n"
    with pytest.raises(ConfigError) as failed:
        resolve_text(text, ".env.staging")
    assert failed.value.one_line() == (
        ".env.staging:2: POSTGRES_PASSWORD: its reference failed (op exited 1: [ERROR] could"
        " not read secret op://prod/db/missing: not found)"
    )


def test_preflight_resolves_and_validates_the_values(fake_op, tmp_path):
    path = tmp_path / ".env.sandbox"
    path.write_text(_with_references("sandbox", _secret_file(tmp_path)), encoding="utf-8")
    resolved = env_file(environment("sandbox", env_file=path))
    assert resolved.values["POSTGRES_PASSWORD"] == PASSWORD
    assert resolved.values["S3_SECRET_KEY"] == SECRET_KEY
    weak = tmp_path / "vault" / "prod" / "db" / "password"
    weak.write_text("short", encoding="utf-8")
    with pytest.raises(ConfigError, match="short-secret"):
        env_file(environment("sandbox", env_file=path))
