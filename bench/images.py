"""Print the app image's size and its size above its base, on each base this machine has
(upstream python:3.12-slim and the local stand-in), and the rebuild time after a code-only
change. Run: .venv/bin/python bench/images.py [--json]

A base that is not on this machine (no registry answers here) is reported as not measured.

The code-only change is made in a temporary copy of app/ (the checkout is never touched): the
copy is built once with an unchanged tree (cache warm), then a module gets one more line and
the image is rebuilt through the same compose build as `inv images.build`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shipyard.compose import ComposeProject  # noqa: E402
from shipyard.config import load_config  # noqa: E402
from shipyard.images.resolve import resolve_images  # noqa: E402
from shipyard.remote import LocalRunner  # noqa: E402
from shipyard.stack import open_stack  # noqa: E402

MB = 1_000_000
UPSTREAM_BASE = "python:3.12-slim"


def image_size(runner: LocalRunner, ref: str) -> int:
    """Bytes of an image as the engine reports it."""
    result = runner.run(["docker", "image", "inspect", "--format", "{{.Size}}", ref])
    return int(result.raise_for_status(f"docker image inspect {ref}").stdout.strip())


def image_id(runner: LocalRunner, ref: str) -> str:
    """The id of an image."""
    result = runner.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref])
    return result.raise_for_status(f"docker image inspect {ref}").stdout.strip()


def present(runner: LocalRunner, ref: str) -> bool:
    """True when the engine has the image."""
    return runner.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref]).ok


def sizes_on_bases(
    runner: LocalRunner, project: ComposeProject, variables: dict[str, str], bases: list[str]
) -> dict[str, dict[str, float] | None]:
    """App image MB and MB above the base, for each base present here (None: not measured)."""
    found: dict[str, dict[str, float] | None] = {}
    for base in dict.fromkeys(bases):
        if not present(runner, base):
            found[base] = None
            continue
        name = "docstore-app:bench-base"
        timed_build(runner, project, {**variables, "PYTHON_IMAGE": base, "APP_IMAGE": name})
        app_bytes, base_bytes = image_size(runner, name), image_size(runner, base)
        runner.run(["docker", "image", "rm", name])
        found[base] = {
            "app_image_mb": round(app_bytes / MB, 1),
            "above_base_mb": round((app_bytes - base_bytes) / MB, 1),
        }
    return found


def timed_build(runner: LocalRunner, project: ComposeProject, variables: dict[str, str]) -> float:
    """Seconds one `docker compose build app` takes."""
    started = time.monotonic()
    runner.run(project.build(["app"]), env=variables).raise_for_status("docker compose build")
    return time.monotonic() - started


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    config = load_config()
    stack = open_stack(config.environment("local"), config.app_name, resolve_images("auto"))
    runner = LocalRunner(ROOT)
    variables = stack.variables
    first_build = timed_build(runner, stack.project, variables)
    app_bytes = image_size(runner, variables["APP_IMAGE"])
    base_bytes = image_size(runner, variables["PYTHON_IMAGE"])
    on_bases = sizes_on_bases(
        runner, stack.project, variables, [UPSTREAM_BASE, variables["PYTHON_IMAGE"]]
    )

    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as scratch:
        app_copy = Path(scratch) / "app"
        shutil.copytree(ROOT / "app", app_copy, ignore=shutil.ignore_patterns("__pycache__"))
        override = Path(scratch) / "compose.bench.yaml"
        override.write_text(
            f"services:\n  app:\n    build:\n      context: {app_copy}\n",
            encoding="utf-8",
        )
        project = ComposeProject(
            project="shipyard-bench",
            files=(*stack.project.files, override),
            env_file=stack.project.env_file,
        )
        bench_vars = {**variables, "APP_IMAGE": "docstore-app:bench"}
        warm = timed_build(runner, project, bench_vars)
        warm_id = image_id(runner, "docstore-app:bench")
        module = app_copy / "docstore" / "main.py"
        module.write_text(module.read_text(encoding="utf-8") + "\n# code-only change\n")
        rebuild = timed_build(runner, project, bench_vars)
        changed_id = image_id(runner, "docstore-app:bench")
        runner.run(["docker", "image", "rm", "docstore-app:bench"])
    if warm_id == changed_id:
        raise SystemExit("the code-only change did not produce a new image: nothing was measured")

    figures = {
        "app_image": variables["APP_IMAGE"],
        "base_image": variables["PYTHON_IMAGE"],
        "app_image_mb": round(app_bytes / MB, 1),
        "base_image_mb": round(base_bytes / MB, 1),
        "above_base_mb": round((app_bytes - base_bytes) / MB, 1),
        "build_s_as_found": round(first_build, 1),
        "build_s_unchanged_copy": round(warm, 1),
        "rebuild_s_after_code_only_change": round(rebuild, 1),
        "on_bases": on_bases,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"app image          {figures['app_image']}: {figures['app_image_mb']} MB")
    print(f"base image         {figures['base_image']}: {figures['base_image_mb']} MB")
    print(f"above its base     {figures['above_base_mb']} MB")
    for base, measured in on_bases.items():
        shown = (
            f"{measured['app_image_mb']} MB ({measured['above_base_mb']} MB above it)"
            if measured
            else "not measured (the base is not on this machine)"
        )
        print(f"on {base:<15} {shown}")
    print(f"build as found     {figures['build_s_as_found']} s")
    print(f"unchanged rebuild  {figures['build_s_unchanged_copy']} s")
    print(f"code-only rebuild  {figures['rebuild_s_after_code_only_change']} s")


if __name__ == "__main__":
    main()
