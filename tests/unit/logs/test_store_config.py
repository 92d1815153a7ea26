"""The durable log store's configuration: one source (monitoring/logs/), the same files in
the sandbox VM image, and every compose service tagged the way rsyslog expects."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from shipyard.config import PROJECT_ROOT
from shipyard.provision import durable_logs

TAG = '{{index .ContainerLabels "com.docker.compose.service"}}/{{.Name}}'


def test_sandbox_image_bakes_in_the_provisioned_files() -> None:
    sandbox = PROJECT_ROOT / "images" / "sandbox"
    assert (
        sandbox / "rsyslog-shipyard.conf"
    ).read_bytes() == durable_logs.RSYSLOG_CONF.read_bytes()
    assert (sandbox / "logrotate-shipyard").read_bytes() == durable_logs.LOGROTATE_CONF.read_bytes()


def test_rsyslog_writes_one_file_per_service_where_inv_logs_reads() -> None:
    text = durable_logs.RSYSLOG_CONF.read_text(encoding="utf-8")
    assert 'string="/var/log/shipyard/%$.service%.log"' in text
    assert 'file="/var/lib/docker/containers/*/*-json.log"' in text
    # `inv logs` filters on the time as text: it must come first in every stored line
    template = text[text.index('template(name="shipyard_line"') :]
    assert template.index('outname="time"') < template.index('outname="service"')


def test_logrotate_caps_by_size_and_age() -> None:
    words = [line.split() for line in durable_logs.LOGROTATE_CONF.read_text().splitlines()]
    settings = {line[0]: line[1:] for line in words if line}
    assert settings["maxsize"] == ["20M"]
    assert settings["rotate"] == ["14"]
    assert settings["maxage"] == ["14"]
    assert "compress" in settings
    assert "[Timer]\nOnCalendar=\nOnCalendar=hourly" in durable_logs.logrotate_hourly()


def _logging(path: Path) -> list[tuple[str, dict]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(name, spec.get("logging", {})) for name, spec in data["services"].items()]


def test_every_service_is_tagged_for_the_store() -> None:
    compose = PROJECT_ROOT / "compose"
    services = _logging(compose / "compose.yaml") + _logging(compose / "compose.monitoring.yaml")
    services += [
        (name, spec) for name, spec in _logging(compose / "compose.production.yaml") if spec
    ]
    assert services
    for name, spec in services:
        assert spec.get("driver") == "json-file", name
        assert spec["options"]["tag"] == TAG, name


def test_ubuntu_privilege_drop_is_commented_out_once(tmp_path: Path) -> None:
    """The grep and sed pyinfra runs for files.replace, on Ubuntu's rsyslog.conf lines."""
    from pyinfra.facts.files import FindInFile
    from pyinfra.operations.util.files import sed_replace

    conf = tmp_path / "rsyslog.conf"
    conf.write_text("$FileOwner syslog\n$PrivDropToUser syslog\n$PrivDropToGroup syslog\n")
    find = str(FindInFile().command(path=str(conf), pattern=durable_logs.PRIVILEGE_DROP))
    found = subprocess.run(find, shell=True, capture_output=True, text=True, check=True)  # noqa: S602
    assert found.stdout.splitlines() == ["$PrivDropToUser syslog", "$PrivDropToGroup syslog"]
    sed = sed_replace(str(conf), durable_logs.PRIVILEGE_DROP, durable_logs.UNDROPPED)
    subprocess.run(sed.get_raw_value(), shell=True, check=True)  # noqa: S602
    assert conf.read_text() == (
        "$FileOwner syslog\n#$PrivDropToUser syslog\n#$PrivDropToGroup syslog\n"
    )
    again = subprocess.run(find, shell=True, capture_output=True, text=True, check=True)  # noqa: S602
    assert "PrivDrop" not in again.stdout  # a second provisioning run changes nothing
