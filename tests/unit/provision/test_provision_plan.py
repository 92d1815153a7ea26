"""The pure parts of `inv provision`: settings from invoke.yaml, supported systems, the
files written on the VM, and the Compose plugin's architecture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.config import load_config
from shipyard.errors import ConfigError, RefusedError
from shipyard.provision import render
from shipyard.provision.compose_plugin import elf_machine, plugin_for
from shipyard.provision.operations import sshd_swap_script, swapfile_script
from shipyard.provision.settings import (
    VmSettings,
    parse_os_release,
    provision_config,
    require_supported,
    settings_for,
    web_ports,
)

SETTINGS = VmSettings(
    sudo_user="ubuntu",
    deploy_user="deploy",
    deploy_path="/srv/docstore",
    authorized_key="ssh-ed25519 AAAA test",
    web_ports=(80, 443),
)


def sandbox(tmp_path: Path, **provision: object):  # type: ignore[no-untyped-def]
    key = tmp_path / "id_ed25519"
    Path(f"{key}.pub").write_text("ssh-ed25519 AAAAC3Nza test@here\n", encoding="utf-8")
    env = load_config().environment("sandbox")
    section = {"user": "debian", **provision}
    return env.model_copy(update={"ssh_key": key, "provision": type(env.provision)(**section)})


def test_settings_from_the_sandbox_environment(tmp_path: Path) -> None:
    settings = settings_for(sandbox(tmp_path, time_servers=["127.0.0.1"]))
    assert settings.sudo_user == "debian"
    assert settings.deploy_user == "deploy"
    assert settings.authorized_key == "ssh-ed25519 AAAAC3Nza test@here"
    assert settings.admitted_ports == (22, 80, 443, 18081)
    assert settings.time_servers == ("127.0.0.1",)


def test_public_url_port_is_admitted_only_when_it_is_not_80_or_443() -> None:
    assert web_ports("https://docs.example.com") == (80, 443)
    assert web_ports("http://docs.example.com:443") == (80, 443)
    assert web_ports("http://127.0.0.1:18081") == (80, 443, 18081)


def test_oracle_linux_user_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RefusedError, match="Oracle Linux is not supported"):
        provision_config(sandbox(tmp_path, user="opc"))


def test_an_environment_without_provision_section_names_the_fix() -> None:
    env = load_config().environment("staging")
    with pytest.raises(ConfigError, match="has no provision: section") as raised:
        provision_config(env)
    assert "provision: {user: ubuntu}" in (raised.value.hint or "")


def test_missing_public_key_names_the_command_that_makes_it(tmp_path: Path) -> None:
    env = sandbox(tmp_path).model_copy(update={"ssh_key": tmp_path / "absent"})
    with pytest.raises(ConfigError, match="not found") as raised:
        settings_for(env)
    assert "ssh-keygen -y -f" in (raised.value.hint or "")


@pytest.mark.parametrize(
    ("os_release", "expected"),
    [
        ('ID=debian\nVERSION_ID="12"\n', "debian 12"),
        ('ID=ubuntu\nVERSION_ID="22.04"\n', "ubuntu 22.04"),
        ('ID=ubuntu\nVERSION_ID="24.04"\n', "ubuntu 24.04"),
    ],
)
def test_supported_systems(os_release: str, expected: str) -> None:
    assert require_supported(parse_os_release(os_release), "vm") == expected


@pytest.mark.parametrize(
    ("os_release", "message"),
    [
        ('ID="ol"\nVERSION_ID="9.4"\nPRETTY_NAME="Oracle Linux Server 9.4"\n', "Oracle Linux"),
        ('ID=ubuntu\nVERSION_ID="20.04"\n', "supports Debian 12 and Ubuntu 22.04/24.04"),
        ('ID=centos\nVERSION_ID="9"\n', "supports Debian 12"),
        ("", "unknown system"),
    ],
)
def test_other_systems_are_refused(os_release: str, message: str) -> None:
    with pytest.raises(RefusedError, match=message):
        require_supported(parse_os_release(os_release), "vm")


def test_sshd_drop_in_disables_passwords_and_root_and_old_algorithms() -> None:
    text = render.sshd_hardening()
    for line in (
        "PermitRootLogin no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
    ):
        assert line in text.splitlines()
    for weak in ("diffie-hellman-group14-sha1", "ecdh-sha2-nistp256", "cbc", "hmac-sha1"):
        assert weak not in text
    # paramiko (Fabric, pyinfra) must still agree on one of each
    import paramiko

    assert set(render.KEX) & set(paramiko.Transport._preferred_kex)
    assert set(render.CIPHERS) & set(paramiko.Transport._preferred_ciphers)
    assert set(render.MACS) & set(paramiko.Transport._preferred_macs)
    # it is read before the images' own drop-ins (sshd keeps the first value it reads)
    assert Path(render.SSHD_DROP_IN).name < "50-cloud-init.conf"


def test_sshd_swap_checks_before_and_after_and_restores_on_rejection() -> None:
    script = sshd_swap_script(
        "/etc/ssh/sshd_config.d/01-x.conf", "/etc/ssh/sshd_config.d/01-x.conf.new"
    )
    assert script.index('sshd -t -f "$probe"') < script.index(
        "mv /etc/ssh/sshd_config.d/01-x.conf.new"
    )
    assert "mv /etc/ssh/sshd_config.d/01-x.conf.previous /etc/ssh/sshd_config.d/01-x.conf" in script
    assert script.index("if ! sshd -t; then") < script.index("try-reload-or-restart")


def test_firewall_admits_ssh_and_web_ports_then_drops() -> None:
    rules = render.firewall_rules(SETTINGS, ipv6=False).splitlines()
    ours = [rule for rule in rules if rule.startswith("-A SHIPYARD-INPUT")]
    assert ours[-1] == "-A SHIPYARD-INPUT -j DROP"
    assert "-A SHIPYARD-INPUT -p tcp -m multiport --dports 22,80,443 -j ACCEPT" in ours
    user = [rule for rule in rules if rule.startswith("-A DOCKER-USER")]
    assert user[-1] == "-A DOCKER-USER -j DROP"
    assert [rule for rule in user if "ctorigdstport" in rule] == [
        "-A DOCKER-USER -p tcp -m conntrack --ctstate NEW --ctorigdstport 80 -j RETURN",
        "-A DOCKER-USER -p tcp -m conntrack --ctstate NEW --ctorigdstport 443 -j RETURN",
    ]
    assert "ipv6-icmp" in render.firewall_rules(SETTINGS, ipv6=True)


def test_firewall_script_puts_its_jump_first_and_unit_runs_before_docker() -> None:
    script = render.firewall_script(SETTINGS)
    assert '"$tool" -I INPUT 1 -j SHIPYARD-INPUT' in script
    assert "check)" in script and "apply)" in script
    unit = render.firewall_unit()
    assert "Before=network-pre.target docker.service" in unit
    assert "After=netfilter-persistent.service" in unit


def test_docker_daemon_json_rotates_logs() -> None:
    config = json.loads(render.docker_daemon_json())
    assert config["log-driver"] == "json-file"
    assert config["log-opts"] == {"max-size": "10m", "max-file": "5"}
    assert config["live-restore"] is True


def test_chrony_uses_only_the_given_servers() -> None:
    text = render.chrony_conf(["127.0.0.1"])
    assert "server 127.0.0.1 iburst" in text
    assert "pool " not in text


def test_swapfile_is_persisted_in_fstab() -> None:
    script = swapfile_script("/swapfile", 2048)
    assert "fallocate -l 2048M /swapfile" in script
    assert "swapon /swapfile" in script
    assert "/swapfile none swap sw 0 0" in script


def test_elf_machine_reads_the_architecture() -> None:
    x86 = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + (0x3E).to_bytes(2, "little")
    arm = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + (0xB7).to_bytes(2, "little")
    assert elf_machine(x86) == "x86_64"
    assert elf_machine(arm) == "aarch64"
    assert elf_machine(b"#!/bin/sh\n" + b"\x00" * 10) is None


def test_compose_plugin_of_another_architecture_is_refused(tmp_path: Path) -> None:
    plugin = tmp_path / "docker-compose"
    plugin.write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + (0x3E).to_bytes(2, "little"))
    assert plugin_for("x86_64", dirs=[str(tmp_path)]) == plugin
    with pytest.raises(Exception, match="the VM is aarch64"):
        plugin_for("aarch64", dirs=[str(tmp_path)])
