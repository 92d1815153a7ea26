"""Retention of the local registry that `ssh` delivery pushes to (`.shipyard/registry/`):
after each delivery it keeps only the images that delivery pushed, so it holds one set of
images instead of every version ever deployed.

That is all a push needs to stay incremental: the next version of the app shares its base
layers with the last one, and those stay. An image dropped here and needed again later is
pushed again locally; what crosses the wire to the VM never depends on this cache (the VM
pulls only the layers it lacks).

Manifests are deleted through the registry's API while it runs (storage deletes enabled in
its config), then `docker-registry garbage-collect --delete-untagged` removes the blobs no
manifest references, with the registry stopped, as distribution requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import httpx

from shipyard.deploy.registry import split_tag

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    )
)
"""What a HEAD on a manifest accepts, so the registry answers with the pushed digest."""
API_TIMEOUT = 30.0
CATALOG_PAGE = 100
"""Repositories asked for at once (distribution answers at most 1000)."""


def stale_manifests(
    digests: Mapping[tuple[str, str], str], keep: Iterable[str]
) -> list[tuple[str, str]]:
    """The (repository, digest) pairs to delete: every manifest in `digests` ((repository,
    tag) -> digest) that no tag of a kept ref points at; sorted, each once."""
    kept = {split_tag(ref) for ref in keep}
    needed = {(name, digest) for (name, tag), digest in digests.items() if (name, tag) in kept}
    stale = {(name, digest) for (name, tag), digest in digests.items() if (name, tag) not in kept}
    return sorted(stale - needed)


def garbage_collect_argv(binary: str, config: Path) -> list[str]:
    """Remove the blobs and untagged manifests nothing references (registry stopped)."""
    return [binary, "garbage-collect", "--delete-untagged", str(config)]


def tagged_digests(port: int, page: int = CATALOG_PAGE) -> dict[tuple[str, str], str]:
    """(repository, tag) -> manifest digest of everything in the registry on `port` (its
    catalog read `page` repositories at a time)."""
    base = f"http://127.0.0.1:{port}/v2"
    found: dict[tuple[str, str], str] = {}
    with httpx.Client(timeout=API_TIMEOUT) as client:
        for repository in _repositories(client, base, page):
            listing = client.get(f"{base}/{repository}/tags/list")
            if listing.status_code == 404:
                continue
            listing.raise_for_status()
            for tag in listing.json().get("tags") or []:
                head = client.head(
                    f"{base}/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}
                )
                head.raise_for_status()
                found[(repository, tag)] = head.headers["Docker-Content-Digest"]
    return found


def _repositories(client: httpx.Client, base: str, page_size: int) -> list[str]:
    """Every repository in the catalog, page by page (`Link: <next>; rel="next"`)."""
    found: list[str] = []
    url: str | None = f"{base}/_catalog?n={page_size}"
    while url:
        page = client.get(url)
        page.raise_for_status()
        found += page.json().get("repositories") or []
        following = page.links.get("next", {}).get("url")
        url = str(page.url.join(following)) if following else None
    return found


def delete_manifests(port: int, manifests: Iterable[tuple[str, str]]) -> int:
    """Delete each (repository, digest) manifest (and so its tags); returns how many."""
    base = f"http://127.0.0.1:{port}/v2"
    deleted = 0
    with httpx.Client(timeout=API_TIMEOUT) as client:
        for repository, digest in manifests:
            response = client.delete(f"{base}/{repository}/manifests/{digest}")
            if response.status_code != 404:
                response.raise_for_status()
                deleted += 1
    return deleted
