"""Which containers still mount secret files from a directory the env file moved away from."""

from __future__ import annotations

from pathlib import Path

from shipyard.secretfiles import stale_services

ROOT = Path("/repo/.shipyard/secrets/docstore-local")
NOW = ROOT / "bbbbbbbbbbbb"
OLD = ROOT / "aaaaaaaaaaaa"


def test_only_services_mounting_another_directory_under_the_root_are_stale():
    inspected = "\n".join(
        [
            f"app {OLD}/app/postgres_password {OLD}/app/s3_secret_key",
            f"db {NOW}/db/postgres_password /var/lib/docker/volumes/pgdata/_data",
            "nginx /repo/nginx/nginx.conf",
            f"objectstore {OLD}/objectstore/s3_access_key",
            f"app {OLD}/app/s3_access_key",
        ]
    )
    assert stale_services(inspected, ROOT, NOW) == ["app", "objectstore"]


def test_nothing_is_stale_when_every_mount_is_current_or_elsewhere():
    assert stale_services(f"app {NOW}/app/x\nnginx /etc/nginx\n\n".strip(), ROOT, NOW) == []
    assert stale_services("", ROOT, NOW) == []
