"""shipyard-local/nginx:1.22 honours nginx:1.27's interface as the stack uses it."""

from __future__ import annotations

import textwrap

import pytest

from shipyard.config import PROJECT_ROOT
from tests.integration.images.support import Container, wait_until

pytestmark = pytest.mark.integration

# Like the stack's nginx.conf: everything writable lives under /tmp (a tmpfs).
NGINX_CONF = """\
worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr notice;
events { worker_connections 64; }
http {
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    access_log /var/log/nginx/access.log;
    include /tmp/conf.d/*.conf;
}
"""
TEMPLATE = """\
server {
    listen 8080;
    location / {
        default_type text/plain;
        return 200 "hello ${GREETING} from $host\\n";
    }
}
"""
UNPRIVILEGED = [
    "--user", "101:101",
    "--read-only",
    "--tmpfs", "/tmp:size=32m,mode=1777",
    "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges:true",
]  # fmt: skip


def answers(container: Container, url: str) -> bool:
    return container.exec("curl", "-fsS", "-o", "/dev/null", url, check=False).returncode == 0


def test_unprivileged_read_only_with_a_rendered_template(standins, sandbox, tmp_path):
    (tmp_path / "nginx.conf").write_text(NGINX_CONF)
    templates = tmp_path / "templates"
    (templates / "sites").mkdir(parents=True)
    (templates / "sites" / "hello.conf.template").write_text(TEMPLATE)
    (templates / "ignored.conf.txt").write_text("not a template")
    for path in (tmp_path, templates, templates / "sites"):
        path.chmod(0o755)
    container = sandbox.start(
        standins["nginx"],
        options=[
            *UNPRIVILEGED,
            "-e", "GREETING=shipyard",
            "-e", "NGINX_ENVSUBST_OUTPUT_DIR=/tmp/conf.d",
            "-e", "NGINX_ENVSUBST_TEMPLATE_DIR=/etc/nginx/templates/sites",
            "-v", f"{tmp_path / 'nginx.conf'}:/etc/nginx/nginx.conf:ro",
            "-v", f"{templates}:/etc/nginx/templates:ro",
        ],
    )  # fmt: skip
    wait_until("nginx on 8080", lambda: answers(container, "http://127.0.0.1:8080/"), 30)
    body = container.exec("curl", "-fsS", "http://127.0.0.1:8080/").stdout
    assert body == "hello shipyard from 127.0.0.1\n"  # ${GREETING} rendered, $host kept
    rendered = container.exec("cat", "/tmp/conf.d/hello.conf").stdout
    assert "hello shipyard from $host" in rendered
    assert container.uids() == {101}
    out, err = container.logs()
    assert '"GET / HTTP/1.1" 200' in out  # access log on stdout
    assert "Running envsubst on /etc/nginx/templates/sites/hello.conf.template" in out
    assert "start worker process" in err  # error log on stderr


def test_default_config_as_root_serves_with_nginx_workers(standins, sandbox):
    container = sandbox.start(standins["nginx"])
    wait_until("nginx on 80", lambda: answers(container, "http://127.0.0.1/"), 30)
    assert "Welcome to nginx!" in container.exec("curl", "-fsS", "http://127.0.0.1/").stdout
    assert container.uids() == {0, 101}  # master root, workers nginx
    assert container.exec("id", "nginx").stdout.startswith("uid=101(nginx) gid=101(nginx)")
    config = container.inspect()["Config"]
    assert config["Cmd"] == ["nginx", "-g", "daemon off;"]
    assert config["StopSignal"] == "SIGQUIT"


def test_the_stacks_own_nginx_config_loads(standins, sandbox):
    result = sandbox.run(
        standins["nginx"],
        "nginx", "-t",
        options=[
            *UNPRIVILEGED,
            "--add-host", "app:127.0.0.1",
            "-v", f"{PROJECT_ROOT / 'nginx' / 'nginx.conf'}:/etc/nginx/nginx.conf:ro",
            "-v", f"{PROJECT_ROOT / 'nginx' / 'conf.d'}:/etc/nginx/conf.d:ro",
        ],
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_template_directory_without_a_writable_output_is_reported_not_fatal(standins, sandbox):
    script = textwrap.dedent(
        """\
        set -e
        mkdir -p /tmp/t && echo 'x ${HOME}' > /tmp/t/a.conf.template
        NGINX_ENVSUBST_TEMPLATE_DIR=/tmp/t /docker-entrypoint.d/20-envsubst-on-templates.sh
        """
    )
    options = ["--user", "101:101", "--read-only", "--tmpfs", "/tmp"]
    result = sandbox.run(standins["nginx"], "sh", "-c", script, options=options, check=False)
    assert result.returncode == 0
    assert "/etc/nginx/conf.d is not writable" in result.stdout
