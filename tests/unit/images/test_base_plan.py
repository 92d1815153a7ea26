"""The Debian base: mirror from the host's APT sources, the exact commands, the trim."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ConfigError
from shipyard.images import base
from shipyard.images.base import AptSource

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_deb822_sources_as_on_these_machines():
    assert base.parse_deb822(DEB822) == [
        AptSource("http://deb.debian.org/debian", ("bookworm", "bookworm-updates"), ("main",)),
        AptSource("http://deb.debian.org/debian-security", ("bookworm-security",), ("main",)),
    ]
    assert base.debian_mirror(base.parse_deb822(DEB822)) == "http://deb.debian.org/debian"


def test_deb822_skips_source_and_disabled_stanzas_and_reads_continuations():
    text = (
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n"
        "Types: deb deb-src\nURIs: http://a.example/debian\n  http://b.example/debian\n"
        "Suites: bookworm\nComponents: main contrib\n"
    )
    sources = base.parse_deb822(text)
    assert [source.uri for source in sources] == [
        "http://a.example/debian",
        "http://b.example/debian",
    ]
    assert sources[0].components == ("main", "contrib")


def test_one_line_sources_with_options_and_comments():
    text = (
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian"
        " bookworm main non-free-firmware # trailing\n"
        "deb http://security.example/debian-security bookworm-security main\n"
    )
    sources = base.parse_one_line(text)
    assert sources == [
        AptSource("http://mirror.example/debian", ("bookworm",), ("main", "non-free-firmware")),
        AptSource("http://security.example/debian-security", ("bookworm-security",), ("main",)),
    ]
    assert base.debian_mirror(sources) == "http://mirror.example/debian"


def test_parse_sources_picks_the_format_by_file_name():
    assert base.parse_sources(Path("x/debian.sources"), DEB822)
    assert base.parse_sources(Path("x/sources.list"), DEB822) == []


def test_host_sources_reads_the_first_file_that_lists_any(tmp_path):
    empty = tmp_path / "debian.sources"
    empty.write_text("# nothing\n")
    listing = tmp_path / "sources.list"
    listing.write_text("deb http://m.example/debian bookworm main\n")
    missing = tmp_path / "missing.sources"
    assert base.host_sources([missing, empty, listing]) == [
        AptSource("http://m.example/debian", ("bookworm",), ("main",))
    ]
    assert base.host_sources([missing]) == []


def test_mirror_override_then_environment_then_host():
    host = base.parse_deb822(DEB822)
    env = {base.MIRROR_ENV: "http://env.example/debian/"}
    assert base.choose_mirror("http://arg.example/debian", host, env) == "http://arg.example/debian"
    assert base.choose_mirror(None, host, env) == "http://env.example/debian"
    assert base.choose_mirror(None, host, {}) == "http://deb.debian.org/debian"


def test_no_mirror_anywhere_names_the_variable():
    with pytest.raises(ConfigError, match="no Debian mirror for bookworm") as caught:
        base.choose_mirror(None, [], {})
    assert base.MIRROR_ENV in (caught.value.hint or "")
    with pytest.raises(ConfigError, match="not an http"):
        base.choose_mirror("ftp.example/debian", [], {})


def test_image_sources_keep_the_hosts_security_archive():
    sources = base.image_sources("http://deb.debian.org/debian", base.parse_deb822(DEB822))
    assert base.render_deb822(sources) == (
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )


def test_image_sources_with_an_override_mirror():
    sources = base.image_sources("http://local.example/debian", base.parse_deb822(DEB822))
    assert [source.uri for source in sources] == [
        "http://local.example/debian",
        "http://deb.debian.org/debian-security",
    ]


def test_plan_base_exact_commands(tmp_path):
    rootfs = tmp_path / "rootfs"
    plan = base.plan_base(rootfs, "http://deb.debian.org/debian", tag="t/debian:x")
    assert plan.debootstrap == [
        "debootstrap",
        "--variant=minbase",
        "bookworm",
        str(rootfs),
        "http://deb.debian.org/debian",
    ]
    assert plan.tar == ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."]
    assert plan.docker_import == [
        "docker",
        "import",
        "--change",
        'CMD ["bash"]',
        "--change",
        "LABEL io.shipyard.debian-mirror=http://deb.debian.org/debian io.shipyard.suite=bookworm",
        "--message",
        "debootstrap --variant=minbase bookworm from http://deb.debian.org/debian",
        "-",
        "t/debian:x",
    ]
    assert plan.tag == "t/debian:x"
    assert "etc/apt/sources.list.d/debian.sources" in plan.files
    assert plan.files["usr/sbin/policy-rc.d"].endswith("exit 101\n")


def test_default_tag_is_the_catalogued_base():
    assert base.plan_base(Path("/r"), "http://m/debian").tag == "shipyard-local/debian:bookworm"


def test_trim_targets_keep_copyrights_and_locale_alias():
    paths = [
        "usr/share/doc/bash/copyright",
        "usr/share/doc/bash/changelog.gz",
        "usr/share/doc/bash",
        "usr/share/locale/de",
        "usr/share/locale/locale.alias",
        "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
        "etc/resolv.conf",
        "etc/passwd",
        "usr/bin/bash",
    ]
    assert base.trim_targets(paths, base.TRIM_GLOBS, base.TRIM_KEEP) == [
        "usr/share/doc/bash/changelog.gz",
        "usr/share/locale/de",
        "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
        "etc/resolv.conf",
    ]


def test_apply_rootfs_changes_trims_writes_and_never_follows_links(tmp_path):
    outside = tmp_path / "host-docs"
    (outside / "precious").mkdir(parents=True)
    (outside / "precious" / "README").write_text("host file")
    root = tmp_path / "rootfs"
    for relative in (
        "usr/share/doc/bash/copyright",
        "usr/share/doc/bash/changelog.gz",
        "var/lib/apt/lists/InRelease",
        "etc/resolv.conf",
        "etc/apt/sources.list",
        "usr/bin/bash",
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("x")
    # An absolute link inside the rootfs points at this machine's files.
    (root / "usr/share/doc/linked").symlink_to(outside / "precious")
    plan = base.plan_base(root, "http://deb.debian.org/debian")
    base.apply_rootfs_changes(plan)

    assert (outside / "precious" / "README").read_text() == "host file"
    assert (root / "usr/share/doc/bash/copyright").exists()
    assert not (root / "usr/share/doc/bash/changelog.gz").exists()
    assert not (root / "var/lib/apt/lists/InRelease").exists()
    assert not (root / "etc/resolv.conf").exists()
    assert not (root / "etc/apt/sources.list").exists()
    assert (root / "usr/bin/bash").exists()
    sources = (root / "etc/apt/sources.list.d/debian.sources").read_text()
    assert "URIs: http://deb.debian.org/debian\n" in sources
    assert (root / "usr/sbin/policy-rc.d").stat().st_mode & 0o777 == 0o755
    assert (root / "etc/apt/apt.conf.d/docker-clean").stat().st_mode & 0o777 == 0o644
