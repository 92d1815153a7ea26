"""ASGI entry point: ``gunicorn -c gunicorn.conf.py docstore.main:app``.

Importing this module reads the configuration from the environment and fails with a message
naming the missing or invalid variables. Tests use ``docstore.application.create_app``.
"""

from __future__ import annotations

from docstore.application import create_app

__all__ = ["app", "create_app"]

app = create_app()
