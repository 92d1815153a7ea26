"""Release gates against a running environment: `inv smoke` and `inv load`."""

from __future__ import annotations

from invoke import task

from shipyard import console
from shipyard.config import PROJECT_ROOT, load_config

LOCAL = "local"


def _url(c, env: str, url: str | None) -> str:
    """`--url`, or the environment's public_url from invoke.yaml."""
    return url or load_config(c.config).environment(env).public_url


@task(
    help={
        "env": "environment to check (default: local)",
        "url": "aim at this URL instead of the environment's public_url",
        "version": "the release that should be running (default for local: this checkout)",
        "git_sha": "the git sha that should be running (default for local: this checkout)",
        "burst": "send the short bounded burst that proves the 429 rate limit (default on)",
        "junit": "JUnit XML report path (default: reports/smoke-ENV.xml)",
        "json": "print one JSON document",
    }
)
@console.exits_cleanly
def smoke(c, env=LOCAL, url=None, version=None, git_sha=None, burst=True, junit=None, json=False):
    """Smoke-test an environment: health, readiness, version, a round trip, the edge."""
    from pathlib import Path

    from shipyard.checks.smoke import ExpectedVersion, run_smoke_suite
    from shipyard.errors import CommandFailedError

    target = _url(c, env, url)
    expected = None
    if version or git_sha:
        expected = ExpectedVersion(version=version or "", git_sha=git_sha)
    elif env == LOCAL and url is None:
        from shipyard.images.app import read_build_info
        from shipyard.remote import LocalRunner

        info = read_build_info(PROJECT_ROOT, LocalRunner(PROJECT_ROOT))
        expected = ExpectedVersion(version=info.version, git_sha=info.git_sha)
    from shipyard.edge.settings import cors_origin, trust_file

    report = Path(junit) if junit else PROJECT_ROOT / "reports" / f"smoke-{env}.xml"
    console.step(f"smoke checks against {target}")
    environment = load_config(c.config).environment(env)
    run = run_smoke_suite(
        target,
        expected,
        burst=burst,
        junit=report,
        ca_file=trust_file(environment),
        http_port=environment.http_port,
        cors_origin=cors_origin(environment),
    )
    if json:
        console.emit_json(
            {
                "ok": run.ok,
                "url": target,
                "seconds": round(run.seconds, 3),
                "checks": [vars(check) for check in run.checks],
                "not_applicable": run.not_applicable,
                "junit": str(report),
            }
        )
    else:
        for check in run.checks:
            console.say(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
        for name in run.not_applicable:
            console.say(f"n/a   {name}")
        passed = len(run.checks) - len(run.failed)
        shown = report.relative_to(PROJECT_ROOT) if report.is_relative_to(PROJECT_ROOT) else report
        console.say(
            f"{passed} passed, {len(run.failed)} failed in {run.seconds:.1f} s (JUnit: {shown})",
            style="bold" if run.ok else "bold red",
        )
    if not run.ok:
        names = ", ".join(check.name for check in run.failed) or "no check ran"
        raise CommandFailedError(f"smoke checks failed against {target}: {names}")


@task(
    iterable=["threshold"],
    help={
        "env": "environment to load (default: local)",
        "url": "aim at this URL instead of the environment's public_url",
        "users": "concurrent simulated users (default 10)",
        "spawn_rate": "users started per second (default 5)",
        "duration": "how long to run: 20s, 1m30s, 2m (default 30s)",
        "threshold": "k6-style, repeatable: p(95)<300ms, p(99)<1s, errors<1%, rps>50 "
        "(default: p(95)<300ms and errors<1%)",
        "max_requests": "stop after this many requests whatever the duration (default 100000)",
        "reports": "directory for the HTML report and CSV files (default: reports)",
        "json": "print one JSON document",
    },
)
@console.exits_cleanly
def load(
    c,
    env=LOCAL,
    url=None,
    users=10,
    spawn_rate=5.0,
    duration="30s",
    threshold=None,
    max_requests=100_000,
    reports="reports",
    json=False,
):
    """Load-test an environment with Locust; exit 99 when a threshold fails (as k6 does)."""
    from invoke.exceptions import Exit

    from shipyard.checks.load import THRESHOLDS_FAILED, LoadPlan, run_load
    from shipyard.checks.thresholds import DEFAULT_THRESHOLDS, parse_duration, parse_threshold

    thresholds = [parse_threshold(text) for text in (threshold or DEFAULT_THRESHOLDS)]
    plan = LoadPlan(
        url=_url(c, env, url).rstrip("/"),
        users=int(users),
        spawn_rate=float(spawn_rate),
        seconds=parse_duration(duration),
        max_requests=int(max_requests),
        reports=(PROJECT_ROOT / reports).resolve(),
        name=f"load-{env}",
        percentiles=tuple(t.percentile for t in thresholds if t.percentile is not None),
    )
    console.step(
        f"load on {plan.url}: {plan.users} users (+{plan.spawn_rate:g}/s) for {plan.seconds} s,"
        f" at most {plan.max_requests} requests"
    )
    result = run_load(plan, thresholds, console.step)
    figures = result.figures
    if json:
        console.emit_json(
            {
                "ok": result.ok,
                "url": plan.url,
                "requests": figures.requests,
                "failures": figures.failures,
                "rps": figures.rps,
                "error_rate_percent": figures.error_rate,
                "percentiles_ms": {f"p({p:g})": v for p, v in figures.percentiles_ms.items()},
                "thresholds": [vars(verdict) for verdict in result.verdicts],
                "failure_kinds": [{"what": what, "count": n} for what, n in result.failures],
                "html": str(plan.html),
            }
        )
    else:
        console.say(
            f"{figures.requests} requests in {result.seconds:.0f} s: {figures.rps:.1f} rps,"
            f" median {figures.med_ms:.0f} ms, p95 {figures.percentiles_ms[95.0]:.0f} ms,"
            f" max {figures.max_ms:.0f} ms, errors {figures.error_rate:.2f}%"
        )
        for what, count in result.failures:
            console.say(f"  failed {count}×  {what}")
        for verdict in result.verdicts:
            console.say(f"{'ok  ' if verdict.ok else 'FAIL'}  {verdict.line}")
        html = plan.html
        if html.is_relative_to(PROJECT_ROOT):
            html = html.relative_to(PROJECT_ROOT)
        console.say(f"reports: {html}, {html.parent}/{plan.name}_*.csv")
    if not result.ok:
        failed = ", ".join(verdict.line for verdict in result.verdicts if not verdict.ok)
        console.error(f"thresholds failed: {failed}")
        raise Exit(code=THRESHOLDS_FAILED)
