"""The VM a stack is deployed to: its layout, the target to run commands on, its releases.

Below both `shipyard.deploy` and `shipyard.backup`: it imports neither."""
