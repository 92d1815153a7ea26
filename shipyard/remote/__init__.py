"""One interface to run commands: here (`LocalRunner`) or, for a VM, over SSH."""

from shipyard.remote.base import CommandResult, Runner
from shipyard.remote.local import LocalRunner

__all__ = ["CommandResult", "LocalRunner", "Runner"]
