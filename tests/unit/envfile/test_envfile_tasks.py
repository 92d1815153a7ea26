"""`inv env.check`, `inv env.init`, `inv env.diff` as a user runs them: the real `inv`
executable in a subprocess, real files on disk. No secret value may reach any output."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

from tests.unit.envfile.support import CORPUS, ROOT, Result, Runner, secret_values


def assert_no_secrets(path: Path, *results: Result, extra: tuple[str, ...] = ()) -> None:
    secrets = [*secret_values(path), *extra]
    assert secrets, f"{path} holds no secret: the test would prove nothing"
    for result in results:
        for secret in secrets:
            assert secret not in result.out
            assert secret not in result.err


def one_line_error(result: Result) -> str:
    assert result.code == 2
    assert result.out == ""
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    return lines[0]


def test_init_writes_a_private_file_that_passes_the_check(cli: Runner, tmp_path: Path):
    path = tmp_path / ".env.production"
    init = cli("env.init", "--env", "production", "--file", str(path))
    assert init.code == 0, init.err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"wrote {path} (mode 0600)" in init.out

    check = cli("env.check", "--env", "production", "--file", str(path))
    assert check.code == 0, check.out + check.err
    assert f"{path}: valid for production" in check.out
    assert_no_secrets(path, init, check)


def test_init_uses_the_environment_env_file_and_refuses_to_overwrite(cli: Runner, tmp_path: Path):
    first = cli("env.init", "--env", "staging")
    path = tmp_path / ".env.staging"
    assert first.code == 0, first.err
    before = path.read_bytes()

    second = cli("env.init", "--env", "staging")
    assert second.code == 3
    assert "already exists; not overwriting it" in second.err
    assert "Traceback" not in second.err
    assert path.read_bytes() == before
    assert_no_secrets(path, first, second)


def test_init_dry_run_writes_nothing(cli: Runner, tmp_path: Path):
    result = cli("env.init", "--env", "local", "--dry-run")
    assert result.code == 0
    assert "would write" in result.out
    assert not (tmp_path / ".env.local").exists()


def test_check_reports_one_line_per_finding_and_a_summary(cli: Runner):
    path = CORPUS / "68-kitchen-sink.env"
    result = cli("env.check", "--env", "production", "--file", str(path))
    assert result.code == 2
    assert result.out.splitlines() == [
        f"{path}:5: trailing-whitespace: the line ends with whitespace"
        " (fix: delete the spaces or tabs at the end of the line)",
        f"{path}:7: lowercase-key: log_level has lower-case letters; the stack reads"
        " upper-case names (fix: rename it to LOG_LEVEL)",
        f"{path}:12: placeholder-secret: POSTGRES_PASSWORD is a placeholder or a well-known"
        " default (fix: set a real secret; generate one:"
        " python3 -c 'import secrets; print(secrets.token_urlsafe(32))')",
        f"{path}:17: must-be-false: DEBUG is true, in production (fix: set DEBUG=false)",
    ]
    assert one_line_error(Result(2, "", result.err)) == (
        f"error: {path}: 4 problems for production (lowercase-key x1, must-be-false x1,"
        " placeholder-secret x1, trailing-whitespace x1) (fix the lines above, then run this"
        " again)"
    )


def test_check_json_is_one_document(cli: Runner, tmp_path: Path):
    path = CORPUS / "24-unknown-key-typo.env"
    result = cli("env.check", "--env", "production", "--file", str(path), "--json")
    assert result.code == 2
    document = json.loads(result.out)
    assert document["ok"] is False
    assert document["environment"] == "production"
    assert document["findings"] == [
        {
            "file": str(path),
            "line": 13,
            "check": "unknown-key",
            "message": "POSTGRES_PASSWROD is not a variable the stack reads",
            "fix": "did you mean POSTGRES_PASSWORD?",
        }
    ]
    assert_no_secrets(path, result)


def test_committed_example_fails_for_production_with_placeholders(cli: Runner):
    result = cli("env.check", "--env", "production", "--file", str(ROOT / ".env.example"))
    assert result.code == 2
    checks = [line.split(": ")[1] for line in result.out.splitlines()]
    assert checks.count("placeholder-secret") == 3
    assert {"app-env-mismatch", "insecure-url", "public-url-mismatch"} <= set(checks)


def test_weak_and_unparsable_secrets_never_print(cli: Runner, tmp_path: Path):
    path = tmp_path / "leaky.env"
    path.write_text(
        "APP_ENV=local\n"
        "PUBLIC_URL=http://127.0.0.1:8080\n"
        "POSTGRES_DB=docstore\n"
        "POSTGRES_USER=docstore\n"
        "POSTGRES_PASSWORD=hunter2x\n"
        'S3_ACCESS_KEY="Qm7pXr4Lw2Zt9Kv\n'
        "S3_SECRET_KEY = zX8kQ2mW9vR4tL7pN3sB6yH1cJ5fD0gAqq\n"
        "S3_SECRET_KYE=Vb7Nm3Qx9Lp2Wr8Tz4Ks6Hd1Fg5Jc0Ay\n",
        encoding="utf-8",
    )
    check = cli("env.check", "--env", "local", "--file", str(path))
    as_json = cli("env.check", "--env", "local", "--file", str(path), "--json")
    assert check.code == as_json.code == 2
    checks = {line.split(": ")[1] for line in check.out.splitlines()}
    assert {"short-secret", "unbalanced-quotes", "space-around-equals", "unknown-key"} <= checks
    assert_no_secrets(path, check, as_json, extra=("Qm7pXr4Lw2Zt9Kv", "hunter2x"))


def test_diff_lists_keys_on_one_side_and_masks_values(cli: Runner, tmp_path: Path):
    a, b = tmp_path / "a.env", tmp_path / "b.env"
    assert cli("env.init", "--env", "local", "--file", str(a)).code == 0
    assert cli("env.init", "--env", "production", "--file", str(b)).code == 0
    with a.open("a", encoding="utf-8") as handle:
        handle.write("HTTP_PORT=8080\n")

    result = cli("env.diff", str(a), str(b))
    assert result.code == 0, result.err
    assert f"only in {a}: HTTP_PORT" in result.out
    assert "differs: APP_ENV: local -> production" in result.out
    assert "differs: POSTGRES_PASSWORD: ******** -> ********" in result.out
    as_json = cli("env.diff", str(a), str(b), "--json")
    document = json.loads(as_json.out)
    assert document["only_in_a"] == ["HTTP_PORT"]
    assert {"key": "S3_SECRET_KEY", "a": "********", "b": "********"} in document["changed"]
    assert_no_secrets(a, result, as_json)
    assert_no_secrets(b, result, as_json)


def test_diff_accepts_environment_names(cli: Runner, tmp_path: Path):
    assert cli("env.init", "--env", "staging").code == 0
    assert cli("env.init", "--env", "production").code == 0
    result = cli("env.diff", "staging", "production")
    assert result.code == 0, result.err
    assert "differs: PUBLIC_URL: https://staging.example.com -> https://docs.example.com" in (
        result.out
    )
    assert_no_secrets(tmp_path / ".env.staging", result)


def test_check_of_a_missing_file(cli: Runner, tmp_path: Path):
    line = one_line_error(cli("env.check", "--env", "local", "--file", str(tmp_path / "nope")))
    assert line.startswith(f"error: {tmp_path / 'nope'}: no such file")


def test_check_of_a_directory(cli: Runner, tmp_path: Path):
    line = one_line_error(cli("env.check", "--env", "local", "--file", str(tmp_path)))
    assert line.startswith(f"error: {tmp_path}: is a directory, not an env file")


def test_check_of_an_unreadable_file(cli: Runner, tmp_path: Path):
    path = tmp_path / "locked.env"
    path.write_text("APP_ENV=local\n", encoding="utf-8")
    path.chmod(0)
    result = cli("env.check", "--env", "local", "--file", str(path), unprivileged=True)
    assert one_line_error(result).startswith(f"error: {path}: cannot be read (permission denied)")


def test_check_of_a_file_that_is_not_utf8(cli: Runner, tmp_path: Path):
    path = tmp_path / "latin1.env"
    path.write_bytes(
        "APP_ENV=local\nPOSTGRES_PASSWORD=Gr\u00fcnerSchl\u00fcssel42\n".encode("latin-1")
    )
    line = one_line_error(cli("env.check", "--env", "local", "--file", str(path)))
    assert line.startswith(f"error: {path}: is not UTF-8 text (byte 0xfc on line 2)")


def test_check_of_an_unknown_environment(cli: Runner):
    line = one_line_error(cli("env.check", "--env", "qa"))
    assert "unknown environment 'qa'" in line


def test_no_secret_reaches_a_log_file(inv: Runner, tmp_path: Path):
    """Every task, in-process, with the root logger writing everything to a file."""
    log_file = tmp_path / "shipyard.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    env_file = tmp_path / ".env.production"
    try:
        results = [
            inv("env.init", "--env", "production"),
            inv("env.check", "--env", "production"),
            inv("env.check", "--env", "production", "--json"),
            inv("env.check", "--env", "production", "--file", str(CORPUS / "62-reused-secret.env")),
            inv("env.diff", str(env_file), str(CORPUS / "54-test-mode-key.env")),
            inv("env.diff", "production", str(CORPUS / "24-unknown-key-typo.env"), "--json"),
        ]
        secrets = [
            *secret_values(env_file),
            *secret_values(CORPUS / "62-reused-secret.env"),
            *secret_values(CORPUS / "54-test-mode-key.env"),
            *secret_values(CORPUS / "24-unknown-key-typo.env"),
        ]
        # A library that logs a secret, and an error carrying one, after the file was read.
        logging.getLogger("somewhere").warning("connecting with %s", secrets[0])
        try:
            raise RuntimeError(f"login failed for {secrets[1]}")
        except RuntimeError:
            logging.getLogger("somewhere").exception("unexpected")
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()
    assert [result.code for result in results] == [0, 0, 0, 2, 0, 0]
    log_text = log_file.read_text(encoding="utf-8")
    assert "connecting with ********" in log_text
    assert "login failed for ********" in log_text
    for secret in secrets:
        assert secret not in log_text
        for result in results:
            assert secret not in result.out + result.err


def test_example_check_passes_on_the_committed_files(inv: Runner):
    result = inv("env.example", "--check")
    assert result.code == 0, result.err
    assert "match the schema" in result.out
