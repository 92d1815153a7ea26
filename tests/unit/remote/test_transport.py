"""The transport interface, on this machine: put, port forwarding, closing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shipyard.errors import CommandFailedError
from shipyard.remote import LocalRunner, Runner
from shipyard.remote.base import put_argv
from shipyard.remote.ssh import SSHRunner


def test_both_runners_implement_every_method_of_the_interface() -> None:
    for runner_class in (LocalRunner, SSHRunner):
        assert issubclass(runner_class, Runner)
        assert not runner_class.__abstractmethods__


def test_put_writes_the_file_with_its_mode_and_makes_its_directory(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "dir" / "secret.env"
    with LocalRunner(tmp_path) as runner:
        written = runner.put(b"A=1\n", target, mode=0o600)
    assert written == str(target)
    assert target.read_bytes() == b"A=1\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["secret.env"]  # no temp left


def test_put_replaces_a_file_and_names_it_when_it_cannot_write(tmp_path: Path) -> None:
    target = tmp_path / "metrics.prom"
    runner = LocalRunner(tmp_path)
    runner.put(b"old\n", target)
    runner.put(b"new\n", target)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    blocked = tmp_path / "metrics.prom" / "under-a-file"
    with pytest.raises(CommandFailedError, match=f"writing {blocked}"):
        runner.put(b"x", blocked)


def test_put_argv_passes_the_path_and_mode_as_arguments_not_as_shell_text() -> None:
    argv = put_argv("/srv/app/a b/$(x)", 0o600)
    assert argv[:2] == ["sh", "-c"]
    assert argv[-2:] == ["/srv/app/a b/$(x)", "0600"]


def test_a_local_target_forwards_loopback_ports_as_they_are() -> None:
    runner = LocalRunner()
    with runner.forward_local(9000) as port:
        assert port == 9000
    with runner.forward_remote(5000, 5000):
        pass
    with pytest.raises(ValueError, match="only loopback"), runner.forward_local(22, "10.0.0.5"):
        pass
    with pytest.raises(ValueError, match="cannot map"), runner.forward_remote(5000, 5001):
        pass
