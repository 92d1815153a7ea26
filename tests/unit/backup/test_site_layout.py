"""Where the backup code looks on the stack's host: the deploy layout on a VM, the
checkout here; and which tasks must run on the VM itself."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from shipyard.backup.context import host_root, require_on_host
from shipyard.config import PROJECT_ROOT, load_config
from shipyard.errors import ConfigError


def test_relative_paths_are_under_the_deploy_path_on_a_vm_and_the_checkout_here():
    config = load_config()
    sandbox, local = config.environment("sandbox"), config.environment("local")
    assert host_root(sandbox) == PurePosixPath("/srv/docstore")
    assert host_root(sandbox) / Path(".shipyard/metrics") == PurePosixPath(
        "/srv/docstore/.shipyard/metrics"
    )
    assert host_root(sandbox) / Path("/var/lib/node-exporter") == PurePosixPath(
        "/var/lib/node-exporter"
    )
    assert host_root(local) == PurePosixPath(PROJECT_ROOT)


def test_the_cron_line_is_installed_on_the_vm_only():
    config = load_config()
    require_on_host(config.environment("local"), on_host=False)
    require_on_host(config.environment("sandbox"), on_host=True)
    with pytest.raises(ConfigError, match="installed on its VM") as caught:
        require_on_host(config.environment("sandbox"), on_host=False)
    assert "--on-host" in (caught.value.hint or "")
