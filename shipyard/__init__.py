"""Shipyard: ship one web app as a Docker Compose stack to one VM, and keep it alive there."""

__version__ = "0.1.0"
