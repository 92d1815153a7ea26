"""Logs that outlive containers: querying the durable per-service files on a VM."""
