"""The Debian base image the stand-ins start FROM: debootstrap, trimmed, `docker import`.

`plan_base` is pure: the argv lists, the files written into the rootfs and the paths
trimmed from it. `build_base` runs that plan. The mirror comes from this machine's APT
sources (never hard-coded), or from an override (argument or SHIPYARD_DEBIAN_MIRROR).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shipyard import console
from shipyard.errors import ConfigError, PrerequisiteError
from shipyard.images.catalog import BASE_TAG
from shipyard.images.engine import Engine, pipe

SUITE = "bookworm"
MIRROR_ENV = "SHIPYARD_DEBIAN_MIRROR"
SOURCES_FILES = (
    Path("/etc/apt/sources.list.d/debian.sources"),
    Path("/etc/apt/sources.list"),
)
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


@dataclass(frozen=True)
class AptSource:
    """One APT source: a repository URI with its suites and components."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...] = ("main",)


def parse_deb822(text: str) -> list[AptSource]:
    """The `Types: deb` stanzas of a deb822 .sources file."""
    sources: list[AptSource] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0].isspace() and key:  # continuation line
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        suites = tuple(fields.get("suites", "").split())
        components = tuple(fields.get("components", "").split()) or ("main",)
        sources.extend(AptSource(uri, suites, components) for uri in fields.get("uris", "").split())
    return sources


def parse_one_line(text: str) -> list[AptSource]:
    """The `deb` lines of a one-line-style sources.list."""
    sources = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line[4:])  # drop [arch=... signed-by=...]
        parts = line.split()
        if len(parts) >= 2:
            sources.append(AptSource(parts[0], (parts[1],), tuple(parts[2:]) or ("main",)))
    return sources


def parse_sources(path: Path, text: str) -> list[AptSource]:
    """APT sources from a file's text, by its format (deb822 for *.sources)."""
    return parse_deb822(text) if path.suffix == ".sources" else parse_one_line(text)


def debian_mirror(sources: Sequence[AptSource], suite: str = SUITE) -> str | None:
    """The URI of the first source that carries `suite` itself (not -security/-updates)."""
    for source in sources:
        if suite in source.suites:
            return source.uri
    return None


def host_sources(files: Sequence[Path] = SOURCES_FILES) -> list[AptSource]:
    """This machine's APT sources, from the first of `files` that lists any."""
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        found = parse_sources(path, text)
        if found:
            return found
    return []


def choose_mirror(
    override: str | None,
    sources: Sequence[AptSource],
    env: Mapping[str, str] | None = None,
    suite: str = SUITE,
) -> str:
    """The mirror debootstrap uses: the override, SHIPYARD_DEBIAN_MIRROR, else the host's."""
    env = os.environ if env is None else env
    chosen = override or env.get(MIRROR_ENV) or debian_mirror(sources, suite)
    if not chosen:
        raise ConfigError(
            f"no Debian mirror for {suite}: none in {' or '.join(map(str, SOURCES_FILES))}",
            hint=f"set {MIRROR_ENV}=http://deb.debian.org/debian (or your mirror)",
        )
    if not re.match(r"^(https?|file)://", chosen):
        raise ConfigError(f"Debian mirror {chosen!r} is not an http(s):// or file:// URI")
    return chosen.rstrip("/")


def image_sources(mirror: str, sources: Sequence[AptSource], suite: str = SUITE) -> list[AptSource]:
    """The APT sources written into the image: the mirror, plus the host's other ones.

    `mirror` serves `suite` and `suite`-updates; any other source of the host for this
    release (its security archive) is kept as it is.
    """
    result = [AptSource(mirror, (suite, f"{suite}-updates"), ("main",))]
    for source in sources:
        if source.uri.rstrip("/") == mirror:
            continue
        kept = tuple(
            s for s in source.suites if s.startswith(f"{suite}-") and s != f"{suite}-updates"
        )
        if kept:
            result.append(AptSource(source.uri, kept, ("main",)))
    return result


def render_deb822(sources: Sequence[AptSource]) -> str:
    """A deb822 sources file for `sources`."""
    stanzas = [
        "\n".join(
            [
                "Types: deb",
                f"URIs: {source.uri}",
                f"Suites: {' '.join(source.suites)}",
                f"Components: {' '.join(source.components)}",
                f"Signed-By: {KEYRING}",
            ]
        )
        for source in sources
    ]
    return "\n\n".join(stanzas) + "\n"


# What the rootfs gets before it is imported: the apt settings of Debian's official
# images (clean caches, no translations, compressed lists), dpkg excludes that keep
# documentation out of later layers, and no service starting inside a build.
ROOTFS_FILES: dict[str, str] = {
    "etc/apt/apt.conf.d/docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb '
        '/var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
    ),
    "etc/apt/apt.conf.d/docker-no-languages": 'Acquire::Languages "none";\n',
    "etc/apt/apt.conf.d/docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "etc/apt/apt.conf.d/docker-autoremove-suggests": (
        'Apt::AutoRemove::SuggestsImportant "false";\n'
    ),
    "etc/dpkg/dpkg.cfg.d/docker-slim": (
        "path-exclude /usr/share/doc/*\n"
        "path-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\n"
        "path-exclude /usr/share/info/*\n"
        "path-exclude /usr/share/lintian/*\n"
        "path-exclude /usr/share/locale/*\n"
        "path-include /usr/share/locale/locale.alias\n"
    ),
    "usr/sbin/policy-rc.d": "#!/bin/sh\n# No service starts while an image is built.\nexit 101\n",
}
EXECUTABLE_FILES = frozenset({"usr/sbin/policy-rc.d"})

# Paths (globs relative to the rootfs) removed before import, with their exceptions.
TRIM_GLOBS: tuple[str, ...] = (
    "etc/apt/sources.list",
    "etc/resolv.conf",
    "etc/hostname",
    "var/lib/apt/lists/*",
    "var/cache/apt/*.bin",
    "var/cache/apt/archives/*.deb",
    "var/cache/debconf/*-old",
    "var/log/*.log",
    "var/log/apt/*",
    "usr/share/doc/*/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/lintian/*",
    "usr/share/locale/*",
)
TRIM_KEEP: tuple[str, ...] = (
    "usr/share/doc/*/copyright",
    "usr/share/locale/locale.alias",
)


@dataclass(frozen=True)
class BasePlan:
    """Everything `build_base` does, as data."""

    tag: str
    mirror: str
    rootfs: Path
    debootstrap: list[str]
    tar: list[str]
    docker_import: list[str]
    files: dict[str, str] = field(default_factory=dict)
    trim: tuple[str, ...] = TRIM_GLOBS
    keep: tuple[str, ...] = TRIM_KEEP


def plan_base(
    rootfs: Path,
    mirror: str,
    *,
    sources: Sequence[AptSource] = (),
    tag: str = BASE_TAG,
    suite: str = SUITE,
) -> BasePlan:
    """The commands and files that turn an empty directory into the base image."""
    files = dict(ROOTFS_FILES)
    files["etc/apt/sources.list.d/debian.sources"] = render_deb822(
        image_sources(mirror, sources, suite)
    )
    return BasePlan(
        tag=tag,
        mirror=mirror,
        rootfs=rootfs,
        debootstrap=["debootstrap", "--variant=minbase", suite, str(rootfs), mirror],
        tar=["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
        docker_import=[
            "docker",
            "import",
            "--change",
            'CMD ["bash"]',
            "--change",
            f"LABEL io.shipyard.debian-mirror={mirror} io.shipyard.suite={suite}",
            "--message",
            f"debootstrap --variant=minbase {suite} from {mirror}",
            "-",
            tag,
        ],
        files=files,
    )


def trim_targets(
    relative_paths: Sequence[str], trim: Sequence[str], keep: Sequence[str]
) -> list[str]:
    """Which of `relative_paths` the trim globs remove (pure; `fnmatch` semantics)."""
    return [
        path
        for path in relative_paths
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in trim)
        and not any(fnmatch.fnmatchcase(path, pattern) for pattern in keep)
    ]


def apply_rootfs_changes(plan: BasePlan) -> None:
    """Trim what the plan names from the rootfs, then write the plan's files into it.

    The walk never follows symlinks: an absolute link in the rootfs points at this
    machine's own files.
    """
    root = plan.rootfs
    for directory, dirnames, filenames in os.walk(root):
        base = Path(directory).relative_to(root)
        names = [str(base / name) if str(base) != "." else name for name in dirnames + filenames]
        doomed = set(trim_targets(names, plan.trim, plan.keep))
        for name in doomed:
            target = root / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        dirnames[:] = [
            d for d in dirnames if str(base / d if str(base) != "." else d) not in doomed
        ]
    for relative, content in plan.files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        target.write_text(content, encoding="utf-8")
        target.chmod(0o755 if relative in EXECUTABLE_FILES else 0o644)


@dataclass(frozen=True)
class BaseResult:
    """What `build_base` did."""

    tag: str
    action: str  # "built" or "present"
    seconds: float = 0.0
    size_bytes: int | None = None


def build_base(
    *,
    mirror: str | None = None,
    tag: str = BASE_TAG,
    force: bool = False,
    workdir: Path | None = None,
    engine: Engine | None = None,
) -> BaseResult:
    """Build the Debian base image unless it is already here (or `force`)."""
    engine = engine or Engine()
    engine.require_engine()
    if not force and engine.image_present(tag):
        console.skipped(f"{tag}: already built")
        return BaseResult(tag, "present", size_bytes=engine.image_size(tag))
    if shutil.which("debootstrap") is None:
        raise PrerequisiteError(
            f"debootstrap is needed to build {tag}", hint="apt-get install debootstrap"
        )
    if os.geteuid() != 0:
        raise PrerequisiteError(
            f"debootstrap must run as root to build {tag}", hint="run this task as root"
        )
    sources = host_sources()
    chosen = choose_mirror(mirror, sources)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shipyard-rootfs-", dir=workdir) as tmp:
        plan = plan_base(Path(tmp) / "rootfs", chosen, sources=sources, tag=tag)
        with console.status(f"debootstrap {SUITE} (minbase) from {chosen}"):
            engine.run(plan.debootstrap, f"debootstrap {SUITE} from {chosen}", timeout=1800)
        apply_rootfs_changes(plan)
        with console.status(f"importing the rootfs as {tag}"):
            pipe(plan.tar, plan.docker_import, what=f"importing {tag}")
    seconds = time.monotonic() - started
    size = engine.image_size(tag)
    console.done(f"{tag}: built in {seconds:.0f} s ({_mb(size)})")
    return BaseResult(tag, "built", seconds, size)


def _mb(size: int | None) -> str:
    return "size unknown" if size is None else f"{size / 1e6:.0f} MB"
