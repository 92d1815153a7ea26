"""The Shipyard dashboard as code (grafana-foundation-sdk): every panel is PromQL over the
series the stack exports, and deploy/rollback markers are an annotation on the running version.

`PANELS` is the data: the dashboard JSON is built from it, and the dashboards test runs every
query against a live Prometheus (a panel whose query returns nothing fails, named). Queries
use Grafana's `$__rate_interval`; `for_prometheus` substitutes it to run them elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, Panel

from shipyard.monitoring.layout import DASHBOARD_FILE

DATASOURCE_UID = "shipyard-prometheus"
"""The uid the provisioned Prometheus datasource gets (monitoring/grafana/provisioning)."""
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
DASHBOARD_UID = "shipyard-overview"
RATE = "$__rate_interval"
_FS = 'fstype!~"tmpfs|overlay|squashfs"'

PanelKind = Literal["timeseries", "stat", "state-timeline"]


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and its legend."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class PanelSpec:
    """A panel: title, kind, unit and queries."""

    title: str
    kind: PanelKind
    unit: str
    queries: tuple[Query, ...]


def _latency(quantile: str) -> Query:
    expr = (
        f"histogram_quantile({quantile}, sum by (le) "
        f'(rate(http_request_duration_seconds_bucket{{job="app"}}[{RATE}])))'
    )
    return Query(expr, f"p{quantile[2:].ljust(2, '0')}")


PANELS: tuple[PanelSpec, ...] = (
    PanelSpec("API status", "stat", "bool_on_off",
              (Query('min(probe_success{job="blackbox-http"})', "public URL ready"),)),
    PanelSpec("Database status", "stat", "bool_on_off",
              (Query('min(pg_up{job="postgres"})', "PostgreSQL up"),)),
    PanelSpec("Request rate", "timeseries", "reqps",
              (Query(f'sum by (route) (rate(http_requests_total{{job="app"}}[{RATE}]))',
                     "{{route}}"),)),
    PanelSpec("Latency", "timeseries", "s",
              (_latency("0.5"), _latency("0.95"), _latency("0.99"))),
    PanelSpec("Error rate (5xx)", "timeseries", "percentunit",
              (Query(f'(sum(rate(http_requests_total{{job="app", status=~"5.."}}[{RATE}]))'
                     f" or vector(0)) / sum(rate(http_requests_total{{job=\"app\"}}[{RATE}]))",
                     "5xx share"),)),
    PanelSpec("Database connections", "timeseries", "short",
              (Query('sum(pg_stat_database_numbackends{job="postgres"})', "in use (server)"),
               Query('max(pg_settings_max_connections{job="postgres"})', "max_connections"),
               Query('sum(docstore_db_pool_checked_out{job="app"})', "app pool checked out"))),
    PanelSpec("Host CPU", "timeseries", "percentunit",
              (Query("1 - avg by (instance) (rate(node_cpu_seconds_total"
                     f'{{job="node", mode="idle"}}[{RATE}]))', "busy"),)),
    PanelSpec("Host memory", "timeseries", "percentunit",
              (Query('1 - node_memory_MemAvailable_bytes{job="node"}'
                     ' / node_memory_MemTotal_bytes{job="node"}', "used"),)),
    PanelSpec("Host disk", "timeseries", "percentunit",
              (Query(f'1 - node_filesystem_avail_bytes{{job="node", {_FS}}}'
                     f' / node_filesystem_size_bytes{{job="node", {_FS}}}', "{{mountpoint}}"),)),
    PanelSpec("Backup age", "stat", "s",
              (Query("time() - max by (env) (shipyard_backup_last_success_timestamp_seconds)",
                     "{{env}}"),)),
    PanelSpec("Certificate days left", "stat", "d",
              (Query('(min by (instance) (probe_ssl_earliest_cert_expiry{job="blackbox-http"})'
                     " - time()) / 86400", "{{instance}}"),)),
    PanelSpec("nginx connections", "timeseries", "short",
              (Query('sum by (instance) (nginx_connections_active{job="nginx"})', "active"),)),
    PanelSpec("Running version (deploys and rollbacks)", "state-timeline", "short",
              (Query('max by (version, git_sha) (docstore_build_info{job="app"})',
                     "{{version}} ({{git_sha}})"),)),
)  # fmt: skip

DEPLOY_MARKER = Query(
    'count by (version, git_sha) (docstore_build_info{job="app"})'
    ' unless count by (version, git_sha) (docstore_build_info{job="app"} offset 1m)',
    "version {{version}} ({{git_sha}}) started",
)
"""An annotation wherever a version starts serving: a deploy, or a rollback to an older one."""


def for_prometheus(expr: str, rate_interval: str = "1m") -> str:
    """`expr` with Grafana's variables replaced, to run against Prometheus directly."""
    return expr.replace(RATE, rate_interval)


def _panel(spec: PanelSpec) -> Builder[Panel]:
    builder: timeseries.Panel | stat.Panel | statetimeline.Panel
    if spec.kind == "stat":
        builder = stat.Panel()
    elif spec.kind == "state-timeline":
        builder = statetimeline.Panel()
    else:
        builder = timeseries.Panel()
    builder.title(spec.title).unit(spec.unit).datasource(DATASOURCE).height(8)
    builder.span(24 if spec.kind == "state-timeline" else (6 if spec.kind == "stat" else 12))
    for number, query in enumerate(spec.queries):
        builder.with_target(
            prometheus.Dataquery()
            .expr(query.expr)
            .legend_format(query.legend)
            .ref_id(chr(ord("A") + number))
        )
    return builder


def build_dashboard() -> dash.Dashboard:
    """The dashboard builder with every panel and the deploy annotation."""
    board = (
        dash.Dashboard("Shipyard")
        .uid(DASHBOARD_UID)
        .tags(["shipyard", "docstore"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .annotation(
            dash.AnnotationQuery()
            .name("Deploys and rollbacks")
            .datasource(DATASOURCE)
            .enable(True)
            .icon_color("blue")
            .expr(DEPLOY_MARKER.expr)
        )
    )
    for spec in PANELS:
        board.with_panel(_panel(spec))
    return board


def dashboard_json() -> str:
    """The dashboard as Grafana JSON (what the provisioning directory holds)."""
    model = build_dashboard().build()
    data = json.loads(json.dumps(model, cls=JSONEncoder))
    for annotation in data.get("annotations", {}).get("list", []):
        if annotation.get("expr") == DEPLOY_MARKER.expr:
            annotation["titleFormat"] = DEPLOY_MARKER.legend
            annotation["step"] = "60s"
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write the dashboard JSON where Grafana's provisioning reads it."""

    DASHBOARD_FILE.write_text(dashboard_json())
    print(f"wrote {DASHBOARD_FILE}")


if __name__ == "__main__":
    main()
