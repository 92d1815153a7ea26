"""Releases: the next semantic version, the Keep a Changelog moves, the annotated tag, and the
pull-request check that keeps `CHANGELOG.md` and `app/VERSION` honest.

The one source of the version is `app/VERSION`: the app image's tag, its OCI version label
and `/version` read it (`shipyard.images.app.read_version`), and `pyproject.toml` takes
Shipyard's own version from it.
"""
