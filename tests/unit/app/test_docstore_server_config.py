"""gunicorn.conf.py and the Alembic scripts, checked without running a server or a database."""

from __future__ import annotations

import io
import runpy
from contextlib import redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import pytest

APP_DIR = Path(__file__).resolve().parents[3] / "app"
GUNICORN_CONF = APP_DIR / "gunicorn.conf.py"


@pytest.fixture
def metrics_dir(tmp_path, monkeypatch):
    path = tmp_path / "prom"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
    return path


def _conf(monkeypatch, **env: str) -> dict:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_defaults(monkeypatch, metrics_dir):
    conf = _conf(monkeypatch)
    assert conf["bind"] == ["0.0.0.0:8000"]
    assert conf["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert (conf["workers"], conf["timeout"], conf["graceful_timeout"]) == (2, 30, 20)
    assert conf["accesslog"] is None
    assert conf["preload_app"] is False
    assert conf["keepalive"] > 60
    assert conf["control_socket_disable"] is True
    assert conf["loglevel"] == "info"


def test_gunicorn_reads_the_environment(monkeypatch, metrics_dir):
    conf = _conf(
        monkeypatch,
        WEB_CONCURRENCY="5",
        GUNICORN_TIMEOUT="90",
        GUNICORN_GRACEFUL_TIMEOUT="45",
        LOG_LEVEL="warning",
    )
    assert (conf["workers"], conf["timeout"], conf["graceful_timeout"]) == (5, 90, 45)
    assert conf["loglevel"] == "warning"
    assert conf["logconfig_dict"]["root"]["level"] == "WARNING"


def test_on_a_vm_gunicorn_also_listens_on_a_socket_named_after_its_host(monkeypatch, metrics_dir):
    import socket

    conf = _conf(monkeypatch, APP_SOCKET_DIR="/run/app")
    assert conf["bind"] == ["0.0.0.0:8000", f"unix:/run/app/{socket.gethostname()}.sock"]


def test_gunicorn_config_is_accepted_by_gunicorn(monkeypatch, metrics_dir):
    from gunicorn.config import Config

    conf = _conf(monkeypatch)
    cfg = Config()
    for name, value in conf.items():
        if name in cfg.settings:
            cfg.set(name, value)
    assert cfg.worker_class_str == "uvicorn_worker.UvicornWorker"
    assert cfg.graceful_timeout == 20
    assert callable(cfg.on_starting) and callable(cfg.child_exit)


def test_bad_environment_stops_gunicorn_with_a_clear_message(monkeypatch, metrics_dir):
    from docstore.settings import SettingsError

    with pytest.raises(SettingsError, match="WEB_CONCURRENCY"):
        _conf(monkeypatch, WEB_CONCURRENCY="many")


def test_on_starting_empties_the_metrics_directory(monkeypatch, metrics_dir):
    conf = _conf(monkeypatch)
    metrics_dir.mkdir()
    (metrics_dir / "counter_123.db").write_bytes(b"old")
    (metrics_dir / "sub").mkdir()
    conf["on_starting"](None)
    assert metrics_dir.is_dir() and list(metrics_dir.iterdir()) == []


def test_on_starting_creates_a_missing_metrics_directory(monkeypatch, metrics_dir):
    conf = _conf(monkeypatch)
    conf["on_starting"](None)
    assert metrics_dir.is_dir()


def test_child_exit_drops_the_dead_workers_live_gauges(monkeypatch, metrics_dir):
    conf = _conf(monkeypatch)
    metrics_dir.mkdir()
    for name in ("gauge_livesum_4242.db", "gauge_livesum_77.db", "counter_4242.db"):
        (metrics_dir / name).write_bytes(b"")
    conf["child_exit"](None, SimpleNamespace(pid=4242))
    assert sorted(p.name for p in metrics_dir.iterdir()) == [
        "counter_4242.db",  # counters of dead workers still count
        "gauge_livesum_77.db",
    ]


# --- Alembic -----------------------------------------------------------------------------


@pytest.fixture
def alembic_config(monkeypatch):
    from alembic.config import Config

    monkeypatch.setenv("POSTGRES_DB", "docstore")
    monkeypatch.setenv("POSTGRES_USER", "docstore")
    monkeypatch.setenv("POSTGRES_PASSWORD", "never-printed-pw")
    cfg = Config(str(APP_DIR / "alembic.ini"))
    cfg.attributes["configure_logging"] = False  # leave the test run's logging alone
    return cfg


def test_revision_chain_is_linear_with_explicit_ids(alembic_config):
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config)
    chain = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    assert chain == [
        "0001_create_documents",
        "0002_object_key_sha256",
        "0003_backfill_object_key",
    ]
    assert scripts.get_heads() == ["0003_backfill_object_key"]
    for rev in scripts.walk_revisions():
        source = Path(rev.path).read_text()
        downgrade = source.split("def downgrade()", 1)[1]
        assert "op." in downgrade, f"{rev.revision} has no real downgrade"


def test_offline_upgrade_sql_builds_the_schema_without_leaking_the_url(alembic_config):
    from alembic import command

    out = io.StringIO()
    with redirect_stdout(out):
        command.upgrade(alembic_config, "head", sql=True)
    sql = out.getvalue()
    assert "CREATE TABLE documents" in sql
    assert "size_bytes BIGINT NOT NULL" in sql
    assert "created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL" in sql
    assert "ADD COLUMN sha256 CHAR(64)" in sql
    assert "CREATE INDEX ix_documents_created_at ON documents (created_at)" in sql
    assert "SET object_key = 'documents/' || id::text WHERE object_key IS NULL" in sql
    assert "ALTER COLUMN object_key SET NOT NULL" in sql
    assert "never-printed-pw" not in sql


def test_offline_downgrade_sql_undoes_every_revision(alembic_config):
    from alembic import command

    out = io.StringIO()
    with redirect_stdout(out):
        command.downgrade(alembic_config, "0003_backfill_object_key:base", sql=True)
    sql = out.getvalue()
    assert "ALTER COLUMN object_key DROP NOT NULL" in sql
    assert "DROP INDEX ix_documents_created_at" in sql
    assert "DROP COLUMN sha256" in sql
    assert "DROP TABLE documents" in sql


def test_gunicorn_listens_on_the_port_the_platform_gives(monkeypatch, metrics_dir):
    conf = _conf(monkeypatch, PORT="12345")
    assert conf["bind"] == ["0.0.0.0:12345"]


def test_a_port_outside_the_tcp_range_is_refused_with_its_name(monkeypatch, metrics_dir):
    from docstore.settings import SettingsError

    with pytest.raises(SettingsError, match="PORT"):
        _conf(monkeypatch, PORT="70000")
