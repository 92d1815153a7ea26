"""Whether a deploy backs up first, and the backup store checked before any change."""

from pathlib import Path

import pytest

from shipyard.config import Environment
from shipyard.deploy.predeploy_backup import check_store, wanted
from shipyard.errors import ConfigError


def _env(name: str = "production", **fields) -> Environment:
    return Environment(
        name=name,
        host="vm",
        deploy_path="/srv/docstore",
        env_file=Path("/nonexistent/.env.production"),
        public_url="https://docs.example.com",
        compose_files=[Path("compose/compose.yaml")],
        project="docstore",
        image_delivery="ssh",
        **fields,
    )


@pytest.mark.parametrize(
    ("fields", "override", "expected"),
    [
        ({"requires_approval": True}, None, True),  # production: on by default
        ({}, None, False),  # staging: off by default
        ({"backup_before_deploy": True}, None, True),
        ({"requires_approval": True, "backup_before_deploy": False}, None, False),
        ({"requires_approval": True}, False, False),  # --no-backup
        ({}, True, True),  # --backup
    ],
)
def test_who_backs_up_before_a_deploy(fields, override, expected):
    assert wanted(_env(**fields), override) is expected


def test_staging_and_production_need_a_remote_backup_store():
    with pytest.raises(ConfigError, match="BACKUP_S3_ENDPOINT is not set"):
        check_store(_env(), {})


def test_a_remote_store_needs_its_credentials():
    with pytest.raises(ConfigError, match="BACKUP_S3_ACCESS_KEY or BACKUP_S3_SECRET_KEY"):
        check_store(_env(), {"BACKUP_S3_ENDPOINT": "s3.example.com"})


def test_a_named_encryption_key_must_be_readable(tmp_path: Path):
    values = {
        "BACKUP_S3_ENDPOINT": "s3.example.com",
        "BACKUP_S3_ACCESS_KEY": "a" * 20,
        "BACKUP_S3_SECRET_KEY": "b" * 40,
        "BACKUP_ENCRYPTION_KEY_FILE": str(tmp_path / "missing.key"),
    }
    with pytest.raises(ConfigError, match=r"missing\.key"):
        check_store(_env(), values)


def test_the_sandbox_may_back_up_into_its_own_object_store():
    check_store(_env("sandbox"), {})
