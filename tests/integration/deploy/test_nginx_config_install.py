"""Installing a release's nginx config into shared/nginx, run by a real shell on real files:
it reports whether nginx needs a reload, and writes nothing when it does not."""

from __future__ import annotations

from pathlib import Path

from shipyard.config import PROJECT_ROOT
from shipyard.deploy.plan import nginx_config_argv, upstream_conf
from shipyard.remote import LocalRunner
from shipyard.vm.layout import Layout


def _release(layout: Layout, name: str, server_conf: str) -> None:
    nginx = Path(layout.release(name)) / "nginx"
    (nginx / "conf.d").mkdir(parents=True)
    (nginx / "nginx.conf").write_text("events {}\n")
    (nginx / "conf.d" / "app.conf").write_text(server_conf)
    (nginx / "conf.d" / "upstream.conf").write_text("upstream app { server app:8000; }\n")


def _install(layout: Layout, release: str) -> str:
    result = LocalRunner(PROJECT_ROOT).run(nginx_config_argv(layout, release, upstream_conf()))
    assert result.ok, result.stderr
    return result.stdout.strip()


def test_a_reload_is_asked_for_only_when_the_config_changed(tmp_path: Path) -> None:
    layout = Layout(str(tmp_path))
    live = Path(layout.nginx)
    (live / "conf.d").mkdir(parents=True)
    (live / "conf.d" / "stale.conf").write_text("# from an older release\n")
    _release(layout, "r1", "server { listen 8080; }\n")
    _release(layout, "r2", "server { listen 8080; }\n")
    _release(layout, "r3", "server { listen 8080; client_max_body_size 1m; }\n")

    assert _install(layout, "r1") == "changed"
    assert sorted(path.name for path in (live / "conf.d").iterdir()) == [
        "app.conf",
        "upstream.conf",
    ]
    assert (live / "conf.d" / "upstream.conf").read_text() == upstream_conf()
    inode = (live / "nginx.conf").stat().st_ino
    before = {path: path.stat().st_mtime_ns for path in live.rglob("*")}

    assert _install(layout, "r2") == "unchanged", "same files: no reload"
    assert {path: path.stat().st_mtime_ns for path in live.rglob("*")} == before

    assert _install(layout, "r3") == "changed"
    assert "client_max_body_size 1m" in (live / "conf.d" / "app.conf").read_text()
    assert (live / "nginx.conf").stat().st_ino == inode, "rewritten in place (mounted by inode)"
