"""A small observed stack for the monitoring tests, from real parts on 127.0.0.1:

PostgreSQL (the stack's image, in a container), the S3 API (moto), the docstore app
(uvicorn on the host), Debian's postgres, node and blackbox exporters, Prometheus and
Alertmanager (the real binaries), and the receivers Alertmanager delivers to: one HTTP
server for the webhook, PagerDuty and Slack endpoints, and an SMTP server (aiosmtpd).
Every port is free and on 127.0.0.1; every process and container is the test's own.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiosmtpd.controller import Controller

from shipyard.backup.metrics import textfile
from shipyard.config import PROJECT_ROOT, load_config
from shipyard.images.resolve import resolve_images
from shipyard.monitoring.alertmanager import Receivers, Timing, render_alertmanager
from shipyard.monitoring.layout import ALERTMANAGER_TEMPLATES, BLACKBOX_CONFIG, RULES_DIR
from shipyard.monitoring.prometheus import (
    Intervals,
    PrometheusSettings,
    ScrapeTargets,
    render_prometheus,
)
from tests.integration.support import free_port, s3_server, test_project

QUICK_DELIVERY = Timing(group_wait="1s", group_interval="2s", repeat_interval="1h")
"""Alertmanager batching for tests: notifications within seconds."""

FAST = Intervals(scrape="2s", evaluation="1s", scrape_timeout="2s")
"""Scrapes every 2 s (a probe gets 1.5 s of it), evaluations every second: alerts within
seconds, not minutes."""


def binary(name: str) -> str:
    """The path of a Debian-packaged binary, or a loud failure (scripts/bootstrap installs it)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run ./scripts/bootstrap", pytrace=False)
    return path


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"{what} did not happen within {timeout:g} s")


def short_for_rules(source: Path, target: Path, for_: str) -> Path:
    """A copy of the shipped rules with every `for:` set to `for_` (the shipped file is
    untouched: its durations are what production uses and what promtool tests)."""
    document = yaml.safe_load(source.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = for_
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


@dataclass
class Process:
    """A background process with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        """The end of its output, for failure messages."""
        return self.log.read_text(errors="replace")[-2000:]


def start(name: str, argv: list[str], logs: Path, env: dict[str, str] | None = None) -> Process:
    """Start `argv` in the background with its output in `logs/name.log`."""
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=logs,
        )
    return Process(name, popen, log)


def stop(process: Process) -> None:
    """Terminate, then kill after 10 s."""
    if process.popen.poll() is None:
        process.popen.terminate()
        try:
            process.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.popen.kill()
            process.popen.wait(timeout=10)


def wait_http(process: Process, url: str, timeout: float = 60) -> None:
    """Wait until `url` answers (any status), failing with the process's output."""

    def answers() -> bool:
        if process.popen.poll() is not None:
            pytest.fail(f"{process.name} exited:\n{process.tail()}", pytrace=False)
        try:
            httpx.get(url, timeout=2)
        except httpx.HTTPError:
            return False
        return True

    wait_until(answers, timeout, f"{process.name} answering at {url}")


@dataclass
class Inbox:
    """What the receivers got: HTTP posts by path, and mails."""

    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    mails: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def webhook(self, path: str) -> list[dict[str, Any]]:
        """The JSON bodies posted to `path`."""
        with self.lock:
            return [body for posted, body in self.posts if posted == path]

    def subjects(self) -> list[str]:
        """The subjects of the mails received."""
        with self.lock:
            return [str(mail["Subject"]) for mail in self.mails]


@contextmanager
def http_receiver(inbox: Inbox) -> Iterator[str]:
    """An HTTP server recording every JSON POST; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with inbox.lock:
                inbox.posts.append((self.path, json.loads(body or b"{}")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "success"}')

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_receiver(inbox: Inbox) -> Iterator[str]:
    """A real SMTP server (aiosmtpd) keeping every mail; yields host:port."""

    class Handler:
        async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
            self,
            server: object,
            session: object,
            envelope: Any,
        ) -> str:
            with inbox.lock:
                inbox.mails.append(message_from_bytes(envelope.content))
            return "250 Message accepted for delivery"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        controller.stop()


@dataclass
class Database:
    """The test's PostgreSQL container."""

    container: str
    port: int
    name: str
    user: str
    password: str

    def stop(self) -> None:
        """Stop the container (the data stays)."""
        docker("stop", "--time", "10", self.container)

    def start(self) -> None:
        """Start it again and wait until it accepts connections."""
        docker("start", self.container)
        self.wait_ready()

    def wait_ready(self, timeout: float = 90) -> None:
        """Until pg_isready answers inside the container."""

        def ready() -> bool:
            result = subprocess.run(
                [
                    "docker",
                    "exec",
                    self.container,
                    "pg_isready",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    self.user,
                ],
                capture_output=True,
                check=False,
            )
            return result.returncode == 0

        wait_until(ready, timeout, f"PostgreSQL in {self.container} accepting connections")

    @property
    def url(self) -> str:
        """libpq URL from the host."""
        return (
            f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.name}"
            "?sslmode=disable"
        )


def docker(*argv: str) -> str:
    """A docker command that must succeed; its output."""
    result = subprocess.run(["docker", *argv], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"docker {' '.join(argv)} failed: {result.stderr}", pytrace=False)
    return result.stdout.strip()


@contextmanager
def database(workdir: Path) -> Iterator[Database]:
    """PostgreSQL in a container of the image the stack uses, on a free 127.0.0.1 port."""
    image = resolve_images(load_config().images.source, keys=["postgres"])["POSTGRES_IMAGE"]
    name = f"{test_project('shipyard-mon-db')}-{os.getpid()}"
    db = Database(name, free_port(), "docstore", "docstore", secrets.token_urlsafe(18))
    env_file = workdir / "db.env"
    env_file.write_text(
        f"POSTGRES_DB={db.name}\nPOSTGRES_USER={db.user}\nPOSTGRES_PASSWORD={db.password}\n"
    )
    env_file.chmod(0o600)
    docker("run", "--detach", "--name", name, "--env-file", str(env_file),
           "--publish", f"127.0.0.1:{db.port}:5432", image)  # fmt: skip
    try:
        db.wait_ready()
        yield db
    finally:
        subprocess.run(
            ["docker", "rm", "--force", "--volumes", name], capture_output=True, check=False
        )


@dataclass(frozen=True)
class Edge:
    """nginx in front of the app: TLS with a test certificate, stub_status on its own
    listener; `ca` is the certificate the blackbox exporter trusts."""

    url: str
    status_url: str
    ca: Path


NGINX_CONF = """worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    server {{
        listen 127.0.0.1:{tls} ssl;
        ssl_certificate /etc/shipyard-test/cert.pem;
        ssl_certificate_key /etc/shipyard-test/key.pem;
        location / {{ proxy_pass http://127.0.0.1:{app}; }}
    }}
    server {{
        listen 127.0.0.1:{status};
        location = /stub_status {{ stub_status; }}
    }}
}}
"""


@contextmanager
def edge(workdir: Path, app_port: int) -> Iterator[Edge]:
    """The stack's nginx image on the host network (127.0.0.1 ports only), with a
    self-signed certificate for 127.0.0.1 valid 30 days."""
    conf = workdir / "nginx"
    conf.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(conf / "key.pem"), "-out", str(conf / "cert.pem")],
        capture_output=True, check=True,
    )  # fmt: skip
    (conf / "key.pem").chmod(0o644)  # a throwaway key the container's nginx user reads
    tls, status = free_port(), free_port()
    (conf / "nginx.conf").write_text(NGINX_CONF.format(tls=tls, status=status, app=app_port))
    image = resolve_images(load_config().images.source, keys=["nginx"])["NGINX_IMAGE"]
    name = f"{test_project('shipyard-mon-nginx')}-{os.getpid()}"
    docker("run", "--detach", "--name", name, "--network", "host", "--user", "101:101",
           "--volume", f"{conf}:/etc/shipyard-test:ro",
           "--volume", f"{conf / 'nginx.conf'}:/etc/nginx/nginx.conf:ro", image)  # fmt: skip
    try:
        result = Edge(f"https://127.0.0.1:{tls}", f"http://127.0.0.1:{status}/stub_status",
                      conf / "cert.pem")  # fmt: skip
        wait_until(lambda: _answers(result.status_url), 60, f"nginx in {name}")
        yield result
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def blackbox_trusting(ca: Path, target: Path) -> Path:
    """The shipped blackbox config, with `ca` trusted by the HTTP module."""
    config = yaml.safe_load(BLACKBOX_CONFIG.read_text())
    config["modules"]["http_ready"]["http"]["tls_config"] = {"ca_file": str(ca)}
    target.write_text(yaml.safe_dump(config))
    return target


@dataclass
class ObservedStack:
    """The running parts and where they answer."""

    db: Database
    app_url: str
    prometheus_url: str
    alertmanager_url: str
    public_url: str
    ca: Path | None
    textfile_dir: Path
    processes: dict[str, Process]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query against the live Prometheus; its result vector."""
        response = httpx.get(
            f"{self.prometheus_url}/api/v1/query", params={"query": promql}, timeout=10
        )
        body = response.json()
        assert body.get("status") == "success", f"{promql}: {body}"
        return list(body["data"]["result"])

    def targets_up(self) -> dict[str, str]:
        """Job -> health of every active target."""
        response = httpx.get(f"{self.prometheus_url}/api/v1/targets", timeout=10).json()
        return {
            target["labels"]["job"]: target["health"]
            for target in response["data"]["activeTargets"]
        }


def app_environment(db: Database, s3_endpoint: str, public_url: str) -> dict[str, str]:
    """The docstore app's settings for this stack."""
    return {
        "APP_ENV": "local",
        "PUBLIC_URL": public_url,
        "LOG_LEVEL": "WARNING",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(db.port),
        "POSTGRES_DB": db.name,
        "POSTGRES_USER": db.user,
        "POSTGRES_PASSWORD": db.password,
        "S3_ENDPOINT": s3_endpoint,
        "S3_ACCESS_KEY": "x" * 20,
        "S3_SECRET_KEY": "y" * 40,
        "S3_BUCKET": "documents",
    }


@contextmanager
def observed_stack(
    workdir: Path,
    *,
    receivers: Receivers | None = None,
    rules_for: str = "2s",
    with_edge: bool = False,
    timing: Timing = QUICK_DELIVERY,
) -> Iterator[ObservedStack]:
    """Start everything (Alertmanager delivering to `receivers`, none by default; nginx with TLS and
    its exporter in front of the app when `with_edge`); stop it all after."""
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    textfile_dir = workdir / "textfile"
    textfile_dir.mkdir(exist_ok=True)
    # A backup that has just succeeded, as `inv backup` writes it for node-exporter.
    (textfile_dir / "shipyard_backup_test_local.prom").write_text(
        textfile("local", finished=time.time(), duration=2.5, sizes={"database_dump": 4096})
    )
    processes: dict[str, Process] = {}
    with ExitStack() as stack:
        stack.callback(lambda: [stop(process) for process in processes.values()])
        db = stack.enter_context(database(workdir))
        s3 = stack.enter_context(s3_server("documents"))
        ports = {name: free_port() for name in ("app", "pg", "node", "bb", "prom", "am", "ngx")}
        app_url = f"http://127.0.0.1:{ports['app']}"

        def launch(
            name: str, argv: list[str], ready: str, env: dict[str, str] | None = None
        ) -> None:
            processes[name] = start(name, argv, logs, env)
            wait_http(processes[name], ready)

        launch(
            "app",
            [
                str(Path(sys.executable).with_name("uvicorn")),
                "docstore.main:app",
                "--app-dir",
                str(PROJECT_ROOT / "app"),
                "--host",
                "127.0.0.1",
                "--port",
                str(ports["app"]),
                "--log-level",
                "warning",
            ],
            f"{app_url}/health",
            app_environment(db, s3, app_url),
        )
        launch(
            "postgres-exporter",
            [
                binary("prometheus-postgres-exporter"),
                f"--web.listen-address=127.0.0.1:{ports['pg']}",
            ],
            f"http://127.0.0.1:{ports['pg']}/metrics",
            {"DATA_SOURCE_NAME": db.url},
        )
        launch(
            "node-exporter",
            [
                binary("prometheus-node-exporter"),
                f"--web.listen-address=127.0.0.1:{ports['node']}",
                f"--collector.textfile.directory={textfile_dir}",
            ],
            f"http://127.0.0.1:{ports['node']}/metrics",
        )
        public_url, ca, nginx_target = app_url, None, None
        blackbox_config = BLACKBOX_CONFIG
        if with_edge:
            front = stack.enter_context(edge(workdir, ports["app"]))
            public_url, ca = front.url, front.ca
            blackbox_config = blackbox_trusting(front.ca, workdir / "blackbox.yml")
            nginx_target = f"127.0.0.1:{ports['ngx']}"
            launch(
                "nginx-exporter",
                [
                    binary("prometheus-nginx-exporter"),
                    f"-nginx.scrape-uri={front.status_url}",
                    f"-web.listen-address={nginx_target}",
                ],
                f"http://{nginx_target}/metrics",
            )
        launch(
            "blackbox-exporter",
            [
                binary("prometheus-blackbox-exporter"),
                f"--config.file={blackbox_config}",
                f"--web.listen-address=127.0.0.1:{ports['bb']}",
            ],
            f"http://127.0.0.1:{ports['bb']}/metrics",
        )
        alertmanager_url = f"http://127.0.0.1:{ports['am']}"
        am_dir = workdir / "alertmanager"
        am_dir.mkdir(exist_ok=True)
        config = am_dir / "alertmanager.yml"
        config.write_text(
            render_alertmanager(
                receivers or Receivers(),
                timing=timing,
                templates=str(ALERTMANAGER_TEMPLATES / "*.tmpl"),
            )
        )
        config.chmod(0o600)
        launch(
            "alertmanager",
            [
                binary("prometheus-alertmanager"),
                f"--config.file={config}",
                f"--storage.path={am_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{ports['am']}",
                "--cluster.listen-address=",
            ],
            f"{alertmanager_url}/-/ready",
        )
        prom_dir = workdir / "prometheus"
        (prom_dir / "rules").mkdir(parents=True, exist_ok=True)
        for rules in RULES_DIR.glob("*.yml"):
            short_for_rules(rules, prom_dir / "rules" / rules.name, rules_for)
        targets = ScrapeTargets(
            app=[f"127.0.0.1:{ports['app']}"],
            postgres=f"127.0.0.1:{ports['pg']}",
            node=f"127.0.0.1:{ports['node']}",
            blackbox=f"127.0.0.1:{ports['bb']}",
            ready_url=f"{public_url}/ready",
            nginx=nginx_target,
            alertmanager=f"127.0.0.1:{ports['am']}",
            prometheus=f"127.0.0.1:{ports['prom']}",
            backup_store=s3,
        )
        settings = PrometheusSettings(
            targets=targets,
            environment="local",
            rule_files=[f"rules/{rules.name}" for rules in RULES_DIR.glob("*.yml")],
            intervals=FAST,
        )
        (prom_dir / "prometheus.yml").write_text(render_prometheus(settings))
        prometheus_url = f"http://127.0.0.1:{ports['prom']}"
        launch(
            "prometheus",
            [
                binary("prometheus"),
                f"--config.file={prom_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={prom_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{ports['prom']}",
            ],
            f"{prometheus_url}/-/ready",
        )
        yield ObservedStack(
            db=db,
            app_url=app_url,
            prometheus_url=prometheus_url,
            alertmanager_url=alertmanager_url,
            public_url=public_url,
            ca=ca,
            textfile_dir=textfile_dir,
            processes=processes,
        )
