"""The sandbox VM: a local replica of a fresh VM (OpenSSH, its own Docker engine, Compose),
registered as environment `sandbox`, so a deploy can be tried without a cloud account."""
