"""`SSHRunner.forward_local`, which `inv backup`/`inv restore` from a workstation use to
reach the VM's object store on its 127.0.0.1 (see docs/backups.md)."""

from __future__ import annotations

import socket

from tests.e2e.support import IsolatedSandbox


def test_forward_local_reaches_a_port_on_the_vm(sandbox: IsolatedSandbox) -> None:
    with sandbox.runner() as runner, runner.forward_local(22) as port:
        banners = []
        for _ in range(2):  # each connection gets its own channel
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                banners.append(conn.recv(64))
    assert all(banner.startswith(b"SSH-2.0-") for banner in banners), banners
