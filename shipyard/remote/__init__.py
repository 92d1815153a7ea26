"""One transport interface (`Runner`: run, stream_out, stream_in, put, forward_local,
forward_remote, close) with two implementations: this machine (`LocalRunner`) and a VM
over SSH (`shipyard.remote.ssh.SSHRunner`, made by `shipyard.remote.factory.runner_for`)."""

from shipyard.remote.base import CommandResult, Runner
from shipyard.remote.local import LocalRunner

__all__ = ["CommandResult", "LocalRunner", "Runner"]
