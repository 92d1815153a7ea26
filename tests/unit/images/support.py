"""A pretend Docker machine for the images unit tests: answers by argv, records every call."""

from __future__ import annotations

import json

from shipyard.images import catalog
from shipyard.remote import CommandResult


class FakeDocker:
    """Answers `docker ...` argv lists like an engine holding `images` (ref -> labels)."""

    def __init__(self, images=None, *, engine_up=True, compose=True, pullable=(), ids=None):
        self.images = dict(images or {})
        self.ids = dict(ids or {})
        self.engine_up = engine_up
        self.compose = compose
        self.pullable = set(pullable)
        self.calls: list[tuple[str, ...]] = []
        self.envs: list[dict | None] = []

    def run(
        self, argv, *, env=None, capture=True, timeout=None, stdin=None, stdout_to_stderr=False
    ):
        argv = tuple(argv)
        self.calls.append(argv)
        self.envs.append(dict(env) if env else None)
        if argv[:2] == ("docker", "version"):
            if self.engine_up:
                return CommandResult(argv, 0, "20.10.24\n")
            return CommandResult(argv, 1, "", "Cannot connect to the Docker daemon")
        if argv[:3] == ("docker", "compose", "version"):
            return CommandResult(argv, 0, "2.40.3\n") if self.compose else CommandResult(argv, 1)
        if argv[:3] == ("docker", "image", "inspect"):
            ref = argv[3]
            if ref not in self.images:
                return CommandResult(argv, 1, "[]", f"Error: No such image: {ref}")
            image_id = self.ids.get(ref, f"sha256:{ref}")
            payload = [{"Id": image_id, "Size": 1_000_000, "Config": {"Labels": self.images[ref]}}]
            return CommandResult(argv, 0, json.dumps(payload))
        if argv[:2] == ("docker", "pull"):
            if argv[-1] not in self.pullable:
                return CommandResult(argv, 1)
            self.images.setdefault(argv[-1], {})
            return CommandResult(argv, 0)
        if argv[:3] == ("docker", "compose", "--project-name"):
            label = next(a.split("=", 1)[1] for a in argv if a.startswith("SHIPYARD_CONTEXT"))
            derived = {d.service: d.tag for _, d in catalog.derived_images()}
            tag = derived.get(argv[-1]) or catalog.get(argv[-1]).standin
            self.images[tag] = {"io.shipyard.context-hash": label}
            return CommandResult(argv, 0)
        raise AssertionError(f"unexpected command {argv}")

    def commands(self, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        return [call for call in self.calls if call[: len(prefix)] == prefix]
