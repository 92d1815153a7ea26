#!/usr/bin/python3
"""`minio` and `mc` shims of the shipyard-local/objectstore stand-in for minio/minio.

Installed as /usr/local/bin/minio and /usr/local/bin/mc (the same file; the name it is
called by picks the tool), so a compose service written for the upstream image keeps
its command, environment and health check:

    minio server /data --console-address ":9001"   SeaweedFS (`weed mini`), S3 API on :9000
    mc ready local                                  exit 0 when the S3 API answers

The S3 server is SeaweedFS's: objects are stored on disk under the data directory (the
volume), memory stays bounded whatever the object sizes, and every request must carry an
AWS signature made with MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (default minioadmin /
minioadmin), as with MinIO. The credentials reach SeaweedFS in a private file, never on
its command line. There is no web console on --console-address.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request

VERSION = "shipyard-local/objectstore (SeaweedFS S3 stand-in for minio/minio)"
DEFAULT_ADDRESS = ":9000"
WEED = "/usr/local/bin/weed"
HEALTH_PATH = "/healthz"
DEFAULT_GOMEMLIMIT = "256MiB"
"""Go's soft memory limit for `weed`: the heap is collected before it grows past this."""
READER_BUDGET_MB = 64
"""Memory for the S3 gateway's read buffers across all GETs. SeaweedFS's default is
unlimited: a 1 GB GET then held most of the object in memory and the 1 GiB container was
OOM-killed (a 400 MB GET peaked at 727 MB resident without the budget, 318 MB with it)."""


# --- credentials ---------------------------------------------------------------------


def _env_or_file(name: str, environ: dict[str, str]) -> str | None:
    """VAR, or the contents of the file VAR_FILE names (docker secrets), like MinIO."""
    file_name = environ.get(f"{name}_FILE")
    if file_name:
        with open(file_name, encoding="utf-8") as handle:
            return handle.read().strip()
    return environ.get(name) or None


def root_credentials(environ: dict[str, str]) -> tuple[str, str]:
    """MINIO_ROOT_USER/PASSWORD (or *_FILE, or the legacy ACCESS/SECRET_KEY), else defaults."""
    user = _env_or_file("MINIO_ROOT_USER", environ) or _env_or_file("MINIO_ACCESS_KEY", environ)
    password = _env_or_file("MINIO_ROOT_PASSWORD", environ) or _env_or_file(
        "MINIO_SECRET_KEY", environ
    )
    user = user or "minioadmin"
    password = password or "minioadmin"
    if len(user) < 3 or len(password) < 8:
        raise SystemExit(
            "ERROR Unable to validate credentials inherited from the shell environment: "
            "Invalid credentials: MINIO_ROOT_USER needs at least 3 characters and "
            "MINIO_ROOT_PASSWORD at least 8"
        )
    return user, password


def s3_identities(user: str, password: str) -> dict[str, object]:
    """SeaweedFS's S3 identity file: the root credentials, allowed everything."""
    return {
        "identities": [
            {
                "name": "root",
                "credentials": [{"accessKey": user, "secretKey": password}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }


def write_identities(user: str, password: str) -> str:
    """The identity file, mode 0600 in a fresh private directory; its path."""
    directory = tempfile.mkdtemp(prefix="shipyard-objectstore-")
    path = os.path.join(directory, "s3.json")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(s3_identities(user, password), handle)
    return path


# --- minio -----------------------------------------------------------------------------


def split_address(address: str) -> tuple[str, int]:
    """[HOST]:PORT as MinIO takes it; an empty host is every interface."""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise SystemExit(f"ERROR invalid address {address!r}: expected [HOST]:PORT")
    return (host.strip("[]") or "0.0.0.0"), int(port)  # noqa: S104 - a server in a container


def weed_argv(data_dir: str, address: str, identities: str) -> list[str]:
    """`weed mini` serving S3 on `address`, storing under `data_dir`.

    Master, volume server and filer talk to each other on 127.0.0.1 (their ports are not
    published). Reads get a fixed memory budget, so a large GET does not grow memory.
    Telemetry (on by default upstream), WebDAV, the admin UI, Iceberg and Lance endpoints
    are off.
    """
    host, port = split_address(address)
    return [
        WEED,
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        f"-ip.bind={host}",
        f"-s3.port={port}",
        f"-s3.config={identities}",
        f"-s3.readerCacheSizeMB={READER_BUDGET_MB}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
    ]


def minio_main(argv: list[str], environ: dict[str, str]) -> int:
    """`minio server DIR [--address :9000]`: exec SeaweedFS in this process."""
    if argv and argv[0] == "minio":  # `command: minio server /data` under our entrypoint
        argv = argv[1:]
    if not argv or argv[0] in {"--version", "-v", "version"}:
        print(f"minio version {VERSION}")
        return 0
    if argv[0] != "server":
        print(f"minio: only `minio server` is implemented by {VERSION}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="minio server")
    parser.add_argument("--address", default=environ.get("MINIO_ADDRESS", DEFAULT_ADDRESS))
    parser.add_argument("--console-address", default=environ.get("MINIO_CONSOLE_ADDRESS"))
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--certs-dir", "-S")
    parser.add_argument("dirs", nargs="*")
    args, unknown = parser.parse_known_args(argv[1:])
    if unknown:
        print(f"WARNING: ignoring unsupported flags: {' '.join(unknown)}", file=sys.stderr)
    if len(args.dirs) != 1:
        print("minio server: give exactly one data directory (e.g. /data)", file=sys.stderr)
        return 2
    user, password = root_credentials(environ)
    host, port = split_address(args.address)
    if not args.quiet:
        print(VERSION)
        print(f"S3-API: http://{host}:{port}")
        print(f"Storage: SeaweedFS, on disk in {args.dirs[0]}")
        print("Auth: AWS signatures with MINIO_ROOT_USER/PASSWORD")
        if args.console_address:
            print(f"Console: none ({args.console_address} is not served by this stand-in)")
        sys.stdout.flush()
    argv_weed = weed_argv(args.dirs[0], args.address, write_identities(user, password))
    child_env = {
        key: value
        for key, value in environ.items()
        if not key.startswith(("MINIO_ROOT_", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"))
    }
    child_env.setdefault("GOMEMLIMIT", DEFAULT_GOMEMLIMIT)
    os.execve(WEED, argv_weed, child_env)  # noqa: S606 - a fixed binary, no shell
    return 1  # pragma: no cover - execve does not return


# --- mc ----------------------------------------------------------------------------------


def alias_url(alias: str, environ: dict[str, str]) -> str:
    """The endpoint of an mc alias: MC_HOST_<alias>, or `local` = http://127.0.0.1:9000."""
    configured = environ.get(f"MC_HOST_{alias}")
    if configured:
        parts = urllib.parse.urlsplit(configured)
        netloc = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((parts.scheme, netloc, "", "", ""))
    if alias == "local":
        port = split_address(environ.get("MINIO_ADDRESS", DEFAULT_ADDRESS))[1]
        return f"http://127.0.0.1:{port}"
    raise SystemExit(f"mc: <ERROR> unknown alias {alias!r}: set MC_HOST_{alias}")


def mc_main(argv: list[str], environ: dict[str, str]) -> int:
    """`mc ready ALIAS`: exit 0 when the S3 API's health endpoint answers 200."""
    if argv and argv[0] in {"--version", "-v", "version"}:
        print(f"mc version {VERSION}")
        return 0
    if len(argv) < 2 or argv[0] != "ready":
        print(f"mc: only `mc ready ALIAS` is implemented by {VERSION}", file=sys.stderr)
        return 2
    alias = next((arg for arg in argv[1:] if not arg.startswith("-")), "local")
    url = alias_url(alias, environ) + HEALTH_PATH
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http(s) only
            ok = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"mc: <ERROR> {alias} is not ready: {exc}", file=sys.stderr)
        return 1
    if not ok:
        print(f"mc: <ERROR> {alias} is not ready", file=sys.stderr)
        return 1
    print(f"The cluster '{alias}' is ready")
    return 0


def main() -> int:
    """Dispatch on the name this file was called by."""
    tool = os.path.basename(sys.argv[0])
    environ = dict(os.environ)
    if tool in {"mc", "mc.py"}:
        return mc_main(sys.argv[1:], environ)
    return minio_main(sys.argv[1:], environ)


if __name__ == "__main__":
    sys.exit(main())
