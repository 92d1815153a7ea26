"""The one command that reads the image ids a machine has, on the real Docker engine."""

from __future__ import annotations

import subprocess

from shipyard.config import PROJECT_ROOT
from shipyard.deploy.plan import image_ids_argv
from shipyard.remote import LocalRunner

PRESENT = "shipyard-local/debian:bookworm"


def test_one_line_per_ref_with_an_empty_id_for_a_missing_image() -> None:
    image_id = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", PRESENT],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    result = LocalRunner(PROJECT_ROOT).run(image_ids_argv([PRESENT, "shipyard-absent:0"]))
    assert result.ok, result.stderr
    assert result.stdout.splitlines() == [f"{PRESENT} {image_id}", "shipyard-absent:0 "]
