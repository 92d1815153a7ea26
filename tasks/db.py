"""The database: `inv db.test-migrations`."""

from __future__ import annotations

from invoke import task

from shipyard import console
from shipyard.config import PROJECT_ROOT, load_config

APP_INI = "app/alembic.ini"
APP_DATA_PLAN = "shipyard/migrations/docstore_data.yaml"


@task(
    help={
        "ini": f"alembic.ini of the history to test (default: {APP_INI})",
        "data": "YAML data plan: rows to seed per revision and their values at head "
        f"(default for the app's history: {APP_DATA_PLAN})",
        "json": "print one JSON document",
    }
)
@console.exits_cleanly
def test_migrations(c, ini=APP_INI, data=None, json=False):
    """Test the migrations on a throwaway PostgreSQL: head, stairway, models, no trace, data."""
    from shipyard.errors import CommandFailedError, ConfigError
    from shipyard.images.resolve import resolve_images
    from shipyard.migrations.data_plan import load_plan
    from shipyard.migrations.harness import test_history
    from shipyard.migrations.render import check_lines, summary_line, timing_lines, to_json

    ini_path = (PROJECT_ROOT / ini).resolve()
    if not ini_path.is_file():
        raise ConfigError(f"{ini}: no such alembic.ini", hint=f"the app's is {APP_INI}")
    if data is None and ini == APP_INI:
        data = APP_DATA_PLAN
    plan = load_plan(PROJECT_ROOT / data) if data else None
    source = load_config(c.config).images.source
    image = resolve_images(source, keys=["postgres"])["POSTGRES_IMAGE"]
    report = test_history(ini_path, image, plan, console.step)
    if json:
        console.emit_json(to_json(report))
    else:
        console.say(f"migrations of {ini} on {image} (throwaway container, removed)")
        for line in [*timing_lines(report), "", *check_lines(report)]:
            console.say(line)
        console.say(summary_line(report), style="bold" if report.ok else "bold red")
    if not report.ok:
        failed = [check.name for check in report.checks if check.status == "failed"]
        raise CommandFailedError(f"migration checks failed: {', '.join(failed)}")
