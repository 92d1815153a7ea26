"""Two checkouts on one machine: the local stack's project comes from the checkout, and a
port held by another stack is named before anything starts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shipyard.config import PROJECT_ROOT, checkout_project, load_config
from shipyard.errors import ConfigError
from shipyard.ports import (
    clash_message,
    parse_publishers,
    port_taken,
    publishers_argv,
    require_port,
    url_port,
)
from shipyard.remote import LocalRunner


def test_the_local_project_is_named_after_the_checkout_and_a_vm_keeps_its_own(
    tmp_path: Path,
) -> None:
    config = load_config()
    local = config.environment("local").project
    assert local == checkout_project("docstore", PROJECT_ROOT)
    assert local.startswith("docstore-") and len(local) == len("docstore-") + 8
    assert checkout_project("docstore", tmp_path / "a") != checkout_project("docstore", tmp_path)
    assert config.environment("sandbox").project == "docstore"


def test_a_project_in_invoke_yaml_wins() -> None:
    raw = load_config().model_dump()
    raw["environments"]["local"]["project"] = "mine"
    config = type(load_config())(**raw)
    assert config.environment("local").project == "mine"


def test_url_port() -> None:
    assert url_port("http://127.0.0.1:8080") == 8080
    assert url_port("https://example.org/") == 443
    assert url_port("http://example.org") == 80


def test_publishers_are_parsed_and_a_clash_is_one_line_naming_the_holder() -> None:
    assert publishers_argv(8080)[:4] == ["docker", "ps", "--filter", "publish=8080"]
    rows = parse_publishers("docstore-1a2b3c4d\tdocstore-1a2b3c4d-nginx-1\n\nx\t\n")
    assert rows == [("docstore-1a2b3c4d", "docstore-1a2b3c4d-nginx-1"), ("x", "")]
    mine = [("docstore-aaaa0000", "docstore-aaaa0000-nginx-1")]
    assert clash_message(8080, "docstore-aaaa0000", mine) is None
    assert clash_message(8080, "docstore-bbbb1111", mine) == (
        "127.0.0.1:8080 is taken by compose project docstore-aaaa0000"
        " (container docstore-aaaa0000-nginx-1), not by this checkout's docstore-bbbb1111"
    )
    assert "by container web" in (clash_message(80, "p", [("", "web")]) or "")
    assert "a program outside Docker" in (clash_message(80, "p", []) or "")


def test_a_port_held_outside_docker_stops_the_start_with_the_fix() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert port_taken(port)
        with pytest.raises(ConfigError) as caught:
            require_port(LocalRunner(), f"http://127.0.0.1:{port}", "docstore-test")
    assert f"127.0.0.1:{port} is taken by a program outside Docker" in caught.value.one_line()
    assert "HTTP_PORT" in caught.value.one_line()
    assert not port_taken(port)
    require_port(LocalRunner(), f"http://127.0.0.1:{port}", "docstore-test")
