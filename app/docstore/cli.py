"""Operational commands run in a one-off container of the image.

    python -m docstore.cli ensure-bucket   create the bucket unless it exists

Exit codes: 0 success, 1 the operation failed, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import logging
import sys

from docstore.errors import short_error
from docstore.logging_setup import configure_logging
from docstore.settings import ServerSettings, SettingsError, StorageSettings, load
from docstore.storage import ObjectStore

log = logging.getLogger("docstore.cli")


def ensure_bucket() -> int:
    try:
        settings = load(StorageSettings)
    except SettingsError as exc:
        log.error("%s", exc)
        return 2
    store = ObjectStore(settings, connect_timeout=3.0, read_timeout=10.0, retries=2)
    try:
        created = store.ensure_bucket()
    except Exception as exc:
        log.error("could not ensure bucket %r: %s", settings.s3_bucket, short_error(exc))
        return 1
    log.info(
        "bucket %s %s",
        settings.s3_bucket,
        "created" if created else "already exists",
        extra={"bucket": settings.s3_bucket, "bucket_created": created},
    )
    return 0


COMMANDS = {"ensure-bucket": ensure_bucket}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docstore.cli", description=__doc__)
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    try:
        level = load(ServerSettings).log_level
    except SettingsError:
        level = "INFO"
    configure_logging(level)
    return COMMANDS[args.command]()


if __name__ == "__main__":
    sys.exit(main())
