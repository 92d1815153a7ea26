"""`inv secrets.rotate`'s pure parts: what it refuses and why, the SQL it sends on stdin,
and the env file it writes back."""

from __future__ import annotations

import stat

import pytest

from shipyard.envfile.load import interpolate, parse_env_text
from shipyard.errors import CommandFailedError, ConfigError
from shipyard.rotation import role, rotate


def test_the_database_password_and_the_store_key_pair_are_rotated_nothing_else():
    for name in ("POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        rotate.require_rotatable(name)
    with pytest.raises(ConfigError, match="changes POSTGRES_PASSWORD, S3_ACCESS_KEY"):
        rotate.require_rotatable("LOG_LEVEL")


def test_the_statement_quotes_the_role_and_the_password():
    assert role.alter_role_sql("docstore", "a'b") == (
        "ALTER ROLE \"docstore\" WITH PASSWORD 'a''b';\n"
    )
    assert role.alter_role_sql('we"ird', "x") == 'ALTER ROLE "we""ird" WITH PASSWORD \'x\';\n'
    command = role.alter_role_command("docstore", "docs")
    assert command[:5] == ["psql", "--username", "docstore", "--dbname", "docs"]
    assert "ON_ERROR_STOP=1" in command


def test_the_env_file_keeps_every_other_line():
    text = "# db\nPOSTGRES_USER=docstore\nPOSTGRES_PASSWORD=old-Pass-123456\nLOG_LEVEL=INFO\n"
    written = rotate.with_value(text, "POSTGRES_PASSWORD", "new-Pass-654321")
    assert (
        written
        == "# db\nPOSTGRES_USER=docstore\nPOSTGRES_PASSWORD=new-Pass-654321\nLOG_LEVEL=INFO\n"
    )
    quoted = rotate.with_value(text, "POSTGRES_PASSWORD", "has $ and space")
    assert interpolate(parse_env_text(quoted).entries)["POSTGRES_PASSWORD"] == "has $ and space"
    with pytest.raises(ConfigError, match="does not set S3_SECRET_KEY"):
        rotate.with_value(text, "S3_SECRET_KEY", "x")


def test_the_file_is_replaced_privately(tmp_path):
    path = tmp_path / ".env"
    path.write_text("A=1\n")
    path.chmod(0o644)
    rotate.write_private(path, "A=2\n")
    assert path.read_text() == "A=2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".env"]


def test_a_refused_alter_names_postgres_reason():
    role.judge_alter(0, "")
    with pytest.raises(CommandFailedError, match='ALTER ROLE failed: ERROR:  role "x" does not'):
        role.judge_alter(3, 'ERROR:  role "x" does not exist\n')
