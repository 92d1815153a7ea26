"""The library beneath `inv env.*`: reading alone, lint details, rules, secrets, cross-checks,
generated files and masking."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from shipyard import masking
from shipyard.envfile import crosscheck, generated
from shipyard.envfile.check import check_env_file, require_valid_env_file
from shipyard.envfile.init import new_env_text, write_new_env_file
from shipyard.envfile.lint import lint
from shipyard.envfile.load import parse_env_text, read_env_file
from shipyard.envfile.rules import parse_bool, type_problem
from shipyard.envfile.schema import BY_NAME, VARIABLES, Variable, VarType
from shipyard.envfile.secrets import generate, is_placeholder, secret_problems
from shipyard.errors import ConfigError, RefusedError
from tests.unit.envfile.support import FIXTURES, PUBLIC_URLS, ROOT, environment


def write(tmp_path: Path, text: str, name: str = "test.env") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def valid_text(env: str = "local", extra: str = "") -> str:
    return new_env_text(env, public_url=PUBLIC_URLS[env]) + extra


# --- reading alone -------------------------------------------------------------------------


def test_references_resolve_from_the_file_never_from_the_process(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_SHELL", "shell-value")
    path = write(
        tmp_path,
        "A=one\nB=${A}-two\nC=${FROM_SHELL}\nD=${FROM_SHELL:-fallback}\nE='${A}'\nF=\"${A} x\"\n",
    )
    assert read_env_file(path) == {
        "A": "one",
        "B": "one-two",
        "C": "",
        "D": "fallback",
        "E": "${A}",
        "F": "one x",
    }


def test_reading_registers_secrets_but_not_placeholders(tmp_path):
    path = write(
        tmp_path,
        "POSTGRES_PASSWORD=Zr8vT2xQ9kL4wZ7p\n"
        "S3_SECRET_KEY=CHANGE_ME\n"
        "MY_API_TOKEN=tok-3Fq9LmZ2xW8\n"
        "LOG_LEVEL=INFO\n",
    )
    read_env_file(path)
    assert masking.mask("Zr8vT2xQ9kL4wZ7p tok-3Fq9LmZ2xW8") == "******** ********"
    assert masking.mask("CHANGE_ME INFO") == "CHANGE_ME INFO"


def test_values_of_unparsable_secret_lines_are_registered(tmp_path):
    path = write(tmp_path, 'POSTGRES_PASSWORD="Zr8vT2xQ9kL4wZ7p\nLOG_LEVEL=INFO\n')
    read_env_file(path)
    assert "Zr8vT2xQ9kL4wZ7p" not in masking.mask("Zr8vT2xQ9kL4wZ7p")


def test_line_numbers_survive_blank_lines_comments_crlf_and_bom(tmp_path):
    text = "\ufeff# c\r\n\r\n\r\nA=1\r\n  # indented\r\nB=2\r\n"
    parsed = parse_env_text(text)
    assert [(e.key, e.line) for e in parsed.entries] == [("A", 4), ("B", 6)]


# --- lint details --------------------------------------------------------------------------


def test_unknown_key_suggests_the_closest_name():
    findings = lint(parse_env_text("WEB_CONCURENCY=2\nS3_BUKET=docs\nNOTHING_LIKE_IT=1\n"), "f")
    fixes = [(f.line, f.fix) for f in findings]
    assert fixes == [
        (1, "did you mean WEB_CONCURRENCY?"),
        (2, "did you mean S3_BUCKET?"),
        (3, "remove it, or declare it in the schema"),
    ]


def test_malformed_reference_reports_the_column_not_the_value():
    [finding] = lint(parse_env_text("PIP_CA_BUNDLE=ab$cd\n"), "f")
    assert finding.check == "malformed-reference"
    assert "column 17" in finding.message
    assert "cd" not in finding.message


def test_escaped_and_defaulted_references_are_fine():
    text = "A=1\nPIP_CA_BUNDLE=${A}/${MISSING:-x}\nAPP_IMAGE='$literal'\n"
    assert [f.check for f in lint(parse_env_text(text), "f")] == ["unknown-key"]


def test_a_line_without_equals_is_never_echoed():
    [finding] = lint(parse_env_text("Zr8vT2xQ9kL4\n"), "f")
    assert finding.check == "missing-equals"
    assert "Zr8vT2xQ9kL4" not in finding.message + finding.fix


# --- types, rules, secrets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("FALSE", False), ("1", True), ("off", False), ("nope", None)],
)
def test_booleans_follow_the_app(value, expected):
    assert parse_bool(value) is expected


EMAIL = Variable("ADMIN_EMAIL", "app", "for the email type", type=VarType.EMAIL)


@pytest.mark.parametrize(
    ("variable", "value", "check"),
    [
        (EMAIL, "ops@example.com", None),
        (EMAIL, "ops@localhost", "invalid-email"),
        (EMAIL, "not an email", "invalid-email"),
        (BY_NAME["PUBLIC_URL"], "https://docs.example.com/app", None),
        (BY_NAME["PUBLIC_URL"], "https://user:pw@docs.example.com", "invalid-url"),
        (BY_NAME["PUBLIC_URL"], "ftp://docs.example.com", "invalid-url"),
        (BY_NAME["PUBLIC_URL"], "https://docs.example.com:99999", "invalid-url"),
        (BY_NAME["S3_ENDPOINT"], "[::1]:9000", None),
        (BY_NAME["S3_ENDPOINT"], "s3.amazonaws.com:443", None),
        (BY_NAME["S3_ENDPOINT"], "objectstore:70000", "invalid-host-port"),
        (BY_NAME["S3_ENDPOINT"], "bad_host!:9000", "invalid-host-port"),
        (BY_NAME["POSTGRES_PORT"], "-1", "out-of-range"),
        (BY_NAME["WEB_CONCURRENCY"], "64", None),
    ],
)
def test_type_checks(variable, value, check):
    problem = type_problem(variable, value)
    assert (problem[0] if problem else None) == check


def test_test_mode_keys_are_refused_in_production_only():
    key = BY_NAME["S3_SECRET_KEY"]
    value = "sk_test_4eC39HqLyjWDarjtT1zdp7dc9X2mQ8rL"
    assert [p.check for p in secret_problems(key, value, "production")] == ["test-mode-key"]
    assert secret_problems(key, value, "staging") == []


@pytest.mark.parametrize(
    "value",
    ["CHANGE_ME", "changeme", "postgres", "admin", "password", "secret", "example",
     "minioadmin", "Admin123", "<your password>", "replace-me-now", "********"],
)  # fmt: skip
def test_placeholders(value):
    assert is_placeholder(value)


@pytest.mark.parametrize("variable", [v for v in VARIABLES if v.is_secret], ids=str)
def test_generated_secrets_pass_every_rule(variable):
    for _ in range(50):
        value = generate(variable)
        assert secret_problems(variable, value, "production") == []
        assert format_is_plain(value)


def format_is_plain(value: str) -> bool:
    return value.replace("-", "").replace("_", "").isalnum()


def test_the_schema_declares_what_the_issue_lists():
    assert {v.name for v in VARIABLES if v.required("production")} == {
        "APP_ENV", "PUBLIC_URL", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD",
        "S3_ACCESS_KEY", "S3_SECRET_KEY",
    }  # fmt: skip
    lengths = {v.name: v.min_length for v in VARIABLES if v.is_secret}
    assert lengths == {
        "POSTGRES_PASSWORD": 12,
        "S3_ACCESS_KEY": 16,
        "S3_SECRET_KEY": 32,
        "BACKUP_S3_ACCESS_KEY": 16,  # issue 6: backups
        "BACKUP_S3_SECRET_KEY": 24,
        "REGISTRY_PASSWORD": 8,  # issue 5: registry delivery
        "ALERT_SMTP_PASSWORD": 8,  # issue 13: alerting and monitoring
        "ALERT_PAGERDUTY_ROUTING_KEY": 20,
        "ALERT_SLACK_WEBHOOK_URL": 20,
        "GRAFANA_ADMIN_PASSWORD": 12,
    }
    assert BY_NAME["HTTP_PORT"].allowed_in == {"local", "sandbox"}
    assert all(v.default is None or type_problem(v, v.default) is None for v in VARIABLES)


# --- cross-checks --------------------------------------------------------------------------


def test_compose_references_in_every_syntax():
    text = (FIXTURES / "compose.yaml").read_text(encoding="utf-8")
    assert sorted(crosscheck.references(text)) == [
        ("APP_ENV", 6),
        ("APP_IMAGE", 4),
        ("LOG_LEVEL", 8),
        ("POSTGRES_IMAGE", 13),
        ("POSTGRES_PASSWORD", 15),
        ("PUBLIC_URL", 7),
    ]


def test_undeclared_variables_in_compose_and_templates_are_reported(tmp_path):
    compose = write(tmp_path, "services:\n  a:\n    image: ${UNKNOWN_IMAGE:-x}\n", "c.yaml")
    templates = tmp_path / "nginx"
    (templates / "conf.d").mkdir(parents=True)
    (templates / "conf.d" / "site.conf.template").write_text(
        "server_name ${SERVER_NAME};\nproxy_set_header Host $host;\nset $x ${scheme};\n",
        encoding="utf-8",
    )
    env = environment("local", compose_files=[compose])
    path = write(tmp_path, valid_text())
    findings = check_env_file(path, env, nginx_dir=templates)
    assert [(Path(f.file).name, f.line, f.check) for f in findings] == [
        ("c.yaml", 3, "undeclared-variable"),
        ("site.conf.template", 1, "undeclared-variable"),
    ]
    assert "${SERVER_NAME}" in findings[1].message


def test_the_repository_compose_files_and_templates_use_only_declared_variables():
    files = sorted((ROOT / "compose").glob("*.yaml"))
    templates = sorted((ROOT / "nginx").rglob("*.template"))
    assert files, "compose/*.yaml should exist"
    assert crosscheck.reference_findings(files, templates) == []


@pytest.mark.parametrize(
    ("name", "valid"),
    [("documents", True), ("my.docs-2", True), ("ab", False), ("-docs", False),
     ("docs..x", False), ("xn--docs", False), ("docs-s3alias", False), ("a" * 64, False)],
)  # fmt: skip
def test_bucket_names(name, valid):
    assert (crosscheck.bucket_problem(name) is None) is valid


# --- check, init, generated files ----------------------------------------------------------


def test_require_valid_raises_one_line_with_exit_code_2(tmp_path):
    path = write(tmp_path, valid_text("local", "DEBUG=maybe\n"))
    with pytest.raises(ConfigError) as caught:
        require_valid_env_file(path, environment("local"), nginx_dir=tmp_path)
    assert caught.value.exit_code == 2
    assert "\n" not in caught.value.one_line()
    assert "1 problem for local (invalid-bool x1)" in caught.value.message


def test_require_valid_returns_the_values(tmp_path):
    path = write(tmp_path, valid_text("staging"))
    values = require_valid_env_file(path, environment("staging"), nginx_dir=tmp_path)
    assert values["APP_ENV"] == "staging"


def test_an_environment_the_schema_does_not_know_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="has no env-file rules"):
        new_env_text("qa", public_url="https://qa.example.com")


def test_write_new_env_file_refuses_to_overwrite(tmp_path):
    path = write(tmp_path, "KEEP=me\n")
    with pytest.raises(RefusedError):
        write_new_env_file(path, "X=1\n")
    assert path.read_text(encoding="utf-8") == "KEEP=me\n"


def test_example_and_docs_match_the_schema():
    assert generated.stale_files() == [], "run `inv env.example`"


def test_generated_files_are_rewritten_from_the_schema(tmp_path):
    (tmp_path / "docs").mkdir()
    doc = tmp_path / "docs" / "configuration.md"
    doc.write_text(f"# Intro\n{generated.BEGIN}\nold\n{generated.END}\ntail\n", encoding="utf-8")
    assert generated.stale_files(tmp_path) == [".env.example", "docs/configuration.md"]
    generated.write_generated_files(tmp_path)
    assert generated.stale_files(tmp_path) == []
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Intro\n") and text.endswith("tail\n")
    assert "| `POSTGRES_PASSWORD` |" in text


# --- masking -------------------------------------------------------------------------------


def test_uncaught_exceptions_are_masked(capsys):
    masking.register("Zr8vT2xQ9kL4wZ7p")
    try:
        raise RuntimeError("boom Zr8vT2xQ9kL4wZ7p")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    err = capsys.readouterr().err
    assert "RuntimeError: boom ********" in err
    assert "Zr8vT2xQ9kL4wZ7p" not in err


def test_log_records_are_masked_whatever_the_handler(tmp_path):
    masking.register("Zr8vT2xQ9kL4wZ7p")
    log_file = tmp_path / "x.log"
    logger = logging.getLogger("shipyard.test.envfile")
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logger.addHandler(handler)
    try:
        logger.error("password=%s", "Zr8vT2xQ9kL4wZ7p", stack_info=True)
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = log_file.read_text(encoding="utf-8")
    assert "password=********" in text
    assert "Zr8vT2xQ9kL4wZ7p" not in text
