"""Where the stack archives WAL, the env file must name a backup store pgBackRest can reach
from inside the db container; a backup store outside the stack needs TLS on servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.config import PROJECT_ROOT
from shipyard.envfile.crosscheck import pitr_findings, s3_findings
from tests.unit.envfile.support import FIXTURES, environment

PITR = [FIXTURES / "compose.yaml", PROJECT_ROOT / "compose" / "compose.pitr.yaml"]
LINES = {"BACKUP_S3_ENDPOINT": 12, "BACKUP_S3_SECURE": 13}


def checks(findings) -> list[tuple[str, int | None]]:
    return [(finding.check, finding.line) for finding in findings]


@pytest.mark.parametrize("name", ["staging", "production"])
def test_a_server_that_archives_wal_needs_a_backup_store(name: str):
    env = environment(name, compose_files=PITR)
    found = pitr_findings({"APP_ENV": name}, LINES, env, ".env")
    assert checks(found) == [("pitr-without-store", None)]
    assert "pg_wal would fill its disk" in found[0].message
    assert f"compose.pitr.yaml out of {name}'s compose_files" in found[0].fix
    with_store = {"APP_ENV": name, "BACKUP_S3_ENDPOINT": "s3.example.com:443"}
    assert pitr_findings(with_store, LINES, env, ".env") == []


def test_without_wal_archiving_no_store_is_needed():
    env = environment("production")
    assert not env.archives_wal
    assert pitr_findings({"APP_ENV": "production"}, LINES, env, ".env") == []


@pytest.mark.parametrize("name", ["local", "sandbox"])
def test_local_and_sandbox_archive_to_the_in_stack_store_by_default(name: str):
    env = environment(name, compose_files=PITR)
    assert pitr_findings({"APP_ENV": name}, LINES, env, ".env") == []


@pytest.mark.parametrize(
    "endpoint", ["127.0.0.1:9000", "127.1.2.3:443", "localhost:9000", "[::1]:9000"]
)
def test_a_loopback_store_is_refused_where_the_db_archives(endpoint: str):
    env = environment("local", compose_files=PITR)
    found = pitr_findings({"APP_ENV": "local", "BACKUP_S3_ENDPOINT": endpoint}, LINES, env, "x")
    assert checks(found) == [("pitr-loopback-store", 12)]
    assert "the container itself" in found[0].message
    plain = environment("local", compose_files=[Path(FIXTURES / "compose.yaml")])
    assert pitr_findings({"BACKUP_S3_ENDPOINT": endpoint}, LINES, plain, "x") == []


def test_a_backup_store_outside_the_stack_needs_tls_on_servers():
    values = {"BACKUP_S3_ENDPOINT": "s3.example.com:443"}
    found = s3_findings(values, {"BACKUP_S3_ENDPOINT": 12}, "production", ".env")
    assert checks(found) == [("insecure-s3", 12)]  # the default, so the endpoint's line
    assert found[0].fix == "set BACKUP_S3_SECURE=true"
    secure = {**values, "BACKUP_S3_SECURE": "true"}
    assert s3_findings(secure, LINES, "production", ".env") == []
    assert s3_findings(values, LINES, "sandbox", ".env") == []
