"""Every file `inv provision` writes on a VM, rendered from its settings (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from shipyard.provision.settings import VmSettings

HEADER = "# Written by `inv provision` (Shipyard): edit invoke.yaml and provision again.\n"

SSHD_DROP_IN = "/etc/ssh/sshd_config.d/01-shipyard-hardening.conf"
"""sshd keeps the FIRST value it reads; drop-ins are read in name order before the main
file, so `01-` wins over cloud images' own drop-ins (Ubuntu's 50-cloud-init.conf,
60-cloudimg-settings.conf)."""
DOCKER_DAEMON_JSON = "/etc/docker/daemon.json"
JOURNALD_DROP_IN = "/etc/systemd/journald.conf.d/shipyard.conf"
AUTO_UPGRADES = "/etc/apt/apt.conf.d/20auto-upgrades"
CHRONY_CONF = "/etc/chrony/chrony.conf"
FIREWALL_SCRIPT = "/usr/local/sbin/shipyard-firewall"
FIREWALL_UNIT = "/etc/systemd/system/shipyard-firewall.service"
FIREWALL_STATE = "/var/lib/shipyard/firewall.applied"
SWAP_FILE = "/swapfile"

KEX = (
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
)
"""Key exchange every supported OpenSSH (8.9 on Ubuntu 22.04 and later) knows; no SHA-1,
no NIST curves. Paramiko (Fabric, pyinfra) speaks curve25519-sha256@libssh.org."""
CIPHERS = (
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)
MACS = (
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "umac-128-etm@openssh.com",
)


def sshd_hardening() -> str:
    """The sshd drop-in: keys only, no root, current key exchange, ciphers and MACs."""
    return HEADER + "\n".join(
        [
            "PermitRootLogin no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitEmptyPasswords no",
            "PubkeyAuthentication yes",
            "X11Forwarding no",
            "MaxAuthTries 3",
            "LoginGraceTime 30",
            f"KexAlgorithms {','.join(KEX)}",
            f"Ciphers {','.join(CIPHERS)}",
            f"MACs {','.join(MACS)}",
            "",
        ]
    )


def docker_daemon_json(max_size_mb: int = 10, max_files: int = 5) -> str:
    """Docker's defaults: json-file logs rotated by size for every container, and
    live-restore (containers keep running while dockerd restarts, e.g. for this file)."""
    config: dict[str, object] = {
        "live-restore": True,
        "log-driver": "json-file",
        "log-opts": {"max-size": f"{max_size_mb}m", "max-file": str(max_files)},
    }
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def journald_cap(max_use_mb: int = 500) -> str:
    """journald's persistent journal capped in size."""
    return HEADER + f"[Journal]\nSystemMaxUse={max_use_mb}M\nSystemMaxFileSize=50M\n"


def auto_upgrades() -> str:
    """APT's daily list refresh and unattended (security) upgrades."""
    return (
        "// Written by `inv provision` (Shipyard).\n"
        'APT::Periodic::Update-Package-Lists "1";\n'
        'APT::Periodic::Unattended-Upgrade "1";\n'
        'APT::Periodic::AutocleanInterval "7";\n'
    )


def chrony_conf(servers: Sequence[str]) -> str:
    """chrony's configuration with the given servers instead of the distribution's pool."""
    lines = [HEADER.rstrip("\n"), *(f"server {server} iburst" for server in servers)]
    lines += [
        "sourcedir /run/chrony-dhcp",
        "keyfile /etc/chrony/chrony.keys",
        "driftfile /var/lib/chrony/chrony.drift",
        "ntsdumpdir /var/lib/chrony",
        "logdir /var/log/chrony",
        "maxupdateskew 100.0",
        "rtcsync",
        "makestep 1 3",
        "leapsectz right/UTC",
        "",
    ]
    return "\n".join(lines)


def firewall_rules(settings: VmSettings, *, ipv6: bool) -> str:
    """iptables-restore input (--noflush): SHIPYARD-INPUT and DOCKER-USER, nothing else.

    INPUT jumps to SHIPYARD-INPUT first (the script puts the jump at position 1, before any
    REJECT an image ends INPUT with). Published container ports never reach INPUT (Docker
    DNATs them into FORWARD), so DOCKER-USER admits from outside only NEW connections whose
    original destination port is a web port; traffic from the containers' own bridges
    passes. No interface name is needed (they differ between clouds: ens3, enp0s6, eth0).
    """
    icmp = "ipv6-icmp" if ipv6 else "icmp"
    admitted = ",".join(str(port) for port in settings.admitted_ports)
    rules = [
        "*filter",
        ":SHIPYARD-INPUT - [0:0]",
        ":DOCKER-USER - [0:0]",
        "-A SHIPYARD-INPUT -i lo -j ACCEPT",
        "-A SHIPYARD-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A SHIPYARD-INPUT -m conntrack --ctstate INVALID -j DROP",
        f"-A SHIPYARD-INPUT -p {icmp} -j ACCEPT",
        "-A SHIPYARD-INPUT -i docker0 -j ACCEPT",
        "-A SHIPYARD-INPUT -i br-+ -j ACCEPT",
        f"-A SHIPYARD-INPUT -p tcp -m multiport --dports {admitted} -j ACCEPT",
        "-A SHIPYARD-INPUT -j DROP",
        "-A DOCKER-USER -i docker0 -j RETURN",
        "-A DOCKER-USER -i br-+ -j RETURN",
        "-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    ]
    rules += [
        f"-A DOCKER-USER -p tcp -m conntrack --ctstate NEW --ctorigdstport {port} -j RETURN"
        for port in settings.web_ports
    ]
    rules += ["-A DOCKER-USER -j DROP", "COMMIT", ""]
    return "\n".join(rules)


def firewall_script(settings: VmSettings) -> str:
    """/usr/local/sbin/shipyard-firewall: `apply` the rules (IPv4 and IPv6), or `check`
    that the live ones are those last applied (prints `in-sync` or `drift`)."""
    v4 = firewall_rules(settings, ipv6=False)
    v6 = firewall_rules(settings, ipv6=True)
    return f"""#!/bin/sh
{HEADER.rstrip()}
# Admits TCP {", ".join(map(str, settings.admitted_ports))} from outside; published Docker ports
# only on {", ".join(map(str, settings.web_ports))} (DOCKER-USER).
# Usage: shipyard-firewall apply|check
set -eu
state={FIREWALL_STATE}

rules4() {{
    cat <<'RULES'
{v4}RULES
}}

rules6() {{
    cat <<'RULES'
{v6}RULES
}}

first_jump() {{  # $1: iptables or ip6tables; INPUT must jump to SHIPYARD-INPUT first
    "$1" -S INPUT | sed -n 2p | grep -qx -- '-A INPUT -j SHIPYARD-INPUT'
}}

snapshot() {{
    for tool in iptables ip6tables; do
        echo "# $tool"
        "$tool" -S SHIPYARD-INPUT 2>/dev/null || true
        "$tool" -S DOCKER-USER 2>/dev/null || true
        if first_jump "$tool"; then echo "first: SHIPYARD-INPUT"; else echo "first: other"; fi
        if "$tool" -C FORWARD -j DOCKER-USER 2>/dev/null; then echo "forward: DOCKER-USER"; fi
    done
    {{ rules4; rules6; }} | sha256sum
}}

apply() {{
    for pair in iptables:rules4 ip6tables:rules6; do
        tool=${{pair%%:*}}
        # out of INPUT while the chain is rebuilt, then back in at position 1
        while "$tool" -D INPUT -j SHIPYARD-INPUT 2>/dev/null; do :; done
        "${{pair#*:}}" | "$tool-restore" --noflush
        "$tool" -I INPUT 1 -j SHIPYARD-INPUT
        "$tool" -C FORWARD -j DOCKER-USER 2>/dev/null || "$tool" -I FORWARD 1 -j DOCKER-USER
    done
    mkdir -p "$(dirname "$state")"
    snapshot >"$state"
}}

case "${{1:-}}" in
    apply) apply ;;
    check)
        if [ -f "$state" ] && snapshot | cmp -s - "$state"; then echo in-sync
        else echo drift; fi ;;
    *) echo "usage: $0 apply|check" >&2; exit 2 ;;
esac
"""


def firewall_unit() -> str:
    """The systemd unit that applies the firewall at boot, before Docker and the network."""
    return (
        HEADER
        + """[Unit]
Description=Shipyard host firewall (SSH, HTTP, HTTPS; DOCKER-USER)
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target docker.service
After=netfilter-persistent.service local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/shipyard-firewall apply

[Install]
WantedBy=multi-user.target
"""
    )
