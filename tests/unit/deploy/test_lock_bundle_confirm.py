"""The lock holder's description, the release bundle, and the production confirmation."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime

import pytest

from shipyard.config import load_config
from shipyard.deploy import bundle, lock, orchestration, plan
from shipyard.errors import RefusedError
from shipyard.vm import layout


def test_holder_is_described_with_its_age_and_staleness() -> None:
    holder = lock.parse_holder(
        '{"owner": "a@b", "since": "2026-11-22T10:00:00+00:00", "version": "0.2.0"}'
    )
    now = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    assert holder.describe(now) == "a@b since 2026-11-22T10:00:00+00:00 (deploy 0.2.0, 5 min ago)"
    later = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert holder.describe(later).endswith("(deploy 0.2.0, 2 h ago) — STALE?")
    assert lock.parse_holder("not json").owner == "unknown"


def test_bundle_holds_the_release_with_the_env_file_0600() -> None:
    env = load_config().environment("sandbox")
    facts = bundle.ReleaseFacts("r1", "sandbox", "0.2.0", "abc", "a:1", "sha256:1")
    env_text = "APP_ENV=sandbox\nREGISTRY_USERNAME=bot\nREGISTRY_PASSWORD=registry-pw-1\n"
    files = bundle.bundle_files(env, facts, env_text, {"APP_IMAGE": "a:1"})
    data = bundle.pack(files, mtime=1.0)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {member.name: member for member in tar.getmembers()}
        assert members[".env"].mode == 0o600
        uploaded = tar.extractfile(".env").read().decode()
        assert uploaded.startswith("APP_ENV=sandbox\n") and uploaded.endswith("APP_IMAGE=a:1\n")
        assert "REGISTRY_" not in uploaded  # the registry login stays on the deployer
        assert bundle.ReleaseFacts.from_json(tar.extractfile("release.json").read()) == facts
    assert {"compose/compose.yaml", "compose/compose.production.yaml"} <= set(members)
    assert {"nginx/nginx.conf", "nginx/conf.d/upstream.conf"} <= set(members)


def test_approval_without_a_terminal_is_refused_naming_yes(monkeypatch) -> None:
    env = load_config().environment("production")
    deploy_plan = plan.DeployPlan("production", "h", "r1", "a:1", layout.Layout("/srv/d"), ())
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(RefusedError) as refused:
        orchestration.confirm(env, deploy_plan, yes=False)
    assert "--yes" in refused.value.one_line()
    orchestration.confirm(env, deploy_plan, yes=True)


def test_version_names_an_app_image_tag() -> None:
    config = load_config()
    assert orchestration.app_image_ref(config, "0.2.0-abc") == "docstore-app:0.2.0-abc"
    assert orchestration.app_image_ref(config, "other/app:1") == "other/app:1"
