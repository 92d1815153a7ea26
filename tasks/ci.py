"""What the CI/CD workflows call: `inv ci.access`, `inv ci.image-ref`, `inv ci.pull-image`,
`inv ci.workflows` (docs/ci-cd.md)."""

from __future__ import annotations

import os
from pathlib import Path

from invoke import Collection, Context, task

from shipyard import console
from shipyard.config import PROJECT_ROOT, load_config
from shipyard.errors import ShipyardError
from shipyard.remote import LocalRunner


@task(positional=[], help={"env": "the environment whose secrets the job holds"})
@console.exits_cleanly
def access(c: Context, env: str = "") -> None:
    """Write the env file (0600), deploy key (0600) and known_hosts from SHIPYARD_* variables."""
    from shipyard.pipeline.access import write_access

    written = write_access(load_config(c.config).environment(env), os.environ, Path.home())
    console.result(
        f"{env}: env file {written.env_file}, key {written.ssh_key}, "
        f"known_hosts {written.known_hosts}"
        + (f", host alias in {written.ssh_config}" if written.ssh_config else "")
    )


@task(name="image-ref")
@console.exits_cleanly
def image_ref(c: Context) -> None:
    """Print this checkout's app image name (what `inv images.build` tags)."""
    from shipyard.pipeline.promote import app_image

    print(app_image(load_config(c.config), LocalRunner(PROJECT_ROOT)))


@task(name="pull-image", positional=[], help={"env": "environment whose registry to pull from"})
@console.exits_cleanly
def pull_image(c: Context, env: str = "") -> None:
    """Pull this commit's app image, as staging's deploy pushed it, by digest (no rebuild)."""
    from shipyard.pipeline.promote import app_image, pull_staged

    config, runner = load_config(c.config), LocalRunner(PROJECT_ROOT)
    promoted = pull_staged(config.environment(env), app_image(config, runner), runner)
    console.result(f"{promoted.local} is {promoted.pinned}")


@task
@console.exits_cleanly
def workflows(c: Context) -> None:
    """Check .github/workflows offline: schema, zizmor, actionlint, and every `inv` line."""
    from shipyard.pipeline import workflows as wf

    runner = LocalRunner(PROJECT_ROOT)
    files = wf.workflow_files()
    failed = []
    for name, argv in (
        ("check-jsonschema", wf.schema_argv(files)),
        ("zizmor", wf.zizmor_argv(files)),
        ("actionlint", wf.actionlint_argv(files)),
    ):
        result = runner.run(argv)
        if result.ok:
            console.done(f"{name}: {len(files)} workflows clean")
            continue
        failed.append(name)
        console.error(f"{name} (exit {result.exit_code}):\n{result.stdout}{result.stderr}")
    findings = wf.check_inv_calls([call for f in files for call in wf.inv_calls(f)])
    for finding in findings:
        console.error(finding)
    if findings:
        failed.append("inv commands")
    if failed:
        raise ShipyardError(f"workflow checks failed: {', '.join(failed)}")
    console.result(f"{len(files)} workflows pass check-jsonschema, zizmor, actionlint, inv lines")


collection = Collection("ci", access, image_ref, pull_image, workflows)
