"""`inv certs.restore`'s pure parts: which archives are accepted, which certificates may be
served again, and the shell that swaps them in (run for real against a directory)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from shipyard.edge.acme import CertsLayout
from shipyard.edge.restore import archive_problem, read_archive, swap_in_argv
from shipyard.errors import CommandFailedError
from tests.unit.edge.test_certinfo import NOW, make


def tar_of(files: dict[str, bytes], *, link: str | None = None) -> bytes:
    """A tar with `files` (name -> content); `link` adds a symlink of that name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(content))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/shadow"
            tar.addfile(info)
    return buffer.getvalue()


def edge_pem(names: list[str], days: float = 30) -> bytes:
    cert, key = make(names, days=days)
    return key + cert


def test_an_archive_of_what_backup_saves_is_read_with_its_certificate():
    data = tar_of(
        {
            "acme/accounts/key": b"k",
            "live/edge.pem": edge_pem(["docs.example.com"]),
            "renew.sh": b"#!/bin/sh\n",
        }
    )
    archive = read_archive(data, "certs.tar")
    assert archive.members == ("acme", "live", "renew.sh")
    assert archive.info is not None
    assert archive.info.names == ("docs.example.com",)


@pytest.mark.parametrize(
    ("member", "link"),
    [("../escape", None), ("/etc/passwd", None), ("other/file", None), ("acme/x", "live/evil")],
)
def test_members_outside_what_backup_saves_are_refused(member, link):
    data = tar_of({member: b"x"}, link=link)
    with pytest.raises(CommandFailedError, match="not a certs backup"):
        read_archive(data, "certs.tar")


def test_a_file_that_is_not_a_tar_is_refused():
    with pytest.raises(CommandFailedError, match="not a tar archive"):
        read_archive(b"\x00garbage" * 100, "b/certs.tar")


def test_an_edge_pem_without_a_certificate_is_refused():
    with pytest.raises(CommandFailedError, match="holds no certificate"):
        read_archive(tar_of({"live/edge.pem": b"-----BEGIN PRIVATE KEY-----\n"}), "c")


def test_only_a_fit_certificate_may_be_served_again():
    fit = read_archive(tar_of({"live/edge.pem": edge_pem(["a.example.com"])}), "t").info
    assert archive_problem(fit, ["a.example.com"], NOW) is None
    assert "does not cover b.example.com" in str(
        archive_problem(fit, ["a.example.com", "b.example.com"], NOW)
    )
    assert "expired on" in str(archive_problem(fit, ["a.example.com"], NOW.replace(year=2027)))
    assert archive_problem(None, ["a.example.com"], NOW) is None  # an account alone


def test_the_swap_keeps_the_old_state_and_renames_each_member_into_place(tmp_path: Path):
    """The container's script, run by sh against a real directory standing for /certs."""
    certs = tmp_path / "certs"
    (certs / "live").mkdir(parents=True)
    (certs / "acme").mkdir()
    (certs / "live/edge.pem").write_bytes(b"old pem")
    (certs / "acme/account").write_bytes(b"old account")
    argv = swap_in_argv("image", CertsLayout(str(certs)), "20261203T120000Z")
    script = argv[argv.index("-c") + 1].replace("/certs", str(certs))
    data = tar_of({"acme/account": b"new account", "live/edge.pem": b"new pem"})
    subprocess.run(["sh", "-c", script, "sh", "20261203T120000Z"], input=data, check=True)
    assert (certs / "live/edge.pem").read_bytes() == b"new pem"
    assert (certs / "acme/account").read_bytes() == b"new account"
    assert not (certs / ".restore").exists() and not (certs / "acme.old").exists()
    with tarfile.open(certs / "before-restore-20261203T120000Z.tar") as safety:
        kept = safety.extractfile("live/edge.pem")
        assert kept is not None and kept.read() == b"old pem"
    assert (certs / "before-restore-20261203T120000Z.tar").stat().st_mode & 0o077 == 0


def test_the_swap_runs_in_an_offline_container_reading_stdin():
    argv = swap_in_argv("lego:4.9", CertsLayout("/srv/app/shared/certs"), "s")
    assert argv[:6] == ["docker", "run", "--rm", "--network", "none", "--interactive"]
    assert "/srv/app/shared/certs:/certs" in argv
    assert argv[-1] == "s"
