#!/usr/bin/python3
"""`minio` and `mc` shims of the shipyard-local/objectstore stand-in for minio/minio.

Installed as /usr/local/bin/minio and /usr/local/bin/mc (the same file; the name it is
called by picks the tool), so a compose service written for the upstream image keeps
its command, environment and health check:

    minio server /data --console-address ":9001"   SeaweedFS (`weed mini`), S3 API on :9000
    mc ready local                                  exit 0 when the S3 API answers
    objectstore-keys check|add|remove               a second key beside the root one, for a
                                                    rotation without a restart (keys on stdin)

The S3 server is SeaweedFS's: objects are stored on disk under the data directory (the
volume), memory stays bounded whatever the object sizes, and every request must carry an
AWS signature made with MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (default minioadmin /
minioadmin), as with MinIO. The credentials reach SeaweedFS in a private file, never on
its command line. There is no web console on --console-address.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

VERSION = "shipyard-local/objectstore (SeaweedFS S3 stand-in for minio/minio)"
DEFAULT_ADDRESS = ":9000"
WEED = "/usr/local/bin/weed"
HEALTH_PATH = "/healthz"
DEFAULT_GOMEMLIMIT = "256MiB"
"""Go's soft memory limit for `weed`: the heap is collected before it grows past this."""
STATE_DIR = "/tmp/shipyard-objectstore"  # noqa: S108 - the container's own /tmp, checked
"""Private directory (0700, the container's own filesystem, never the volume) of the
identity file SeaweedFS reads and of its process id, for `objectstore-keys`."""
IDENTITY_FILE = "s3.json"
PID_FILE = "weed.pid"
RELOAD_WAIT_SECONDS = 15.0
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


def write_private_json(path: str, document: object) -> None:
    """Replace `path` with `document` atomically (a temporary file renamed over it), 0600."""
    temporary = f"{path}.tmp-{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
    os.replace(temporary, path)


def write_identities(user: str, password: str, directory: str = STATE_DIR) -> str:
    """The identity file with the root credentials only, mode 0600 in `directory` (0700,
    created when missing); its path. A start always begins from the root credentials: a
    key added by `objectstore-keys add` lasts until the container restarts."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if os.stat(directory).st_uid != os.geteuid():
        raise SystemExit(f"ERROR {directory} belongs to another user: remove it")
    os.chmod(directory, 0o700)
    path = os.path.join(directory, IDENTITY_FILE)
    write_private_json(path, s3_identities(user, password))
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
    with open(os.path.join(STATE_DIR, PID_FILE), "w", encoding="utf-8") as handle:
        handle.write(str(os.getpid()))  # execve keeps the process id: weed's
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


# --- objectstore-keys ------------------------------------------------------------------


def sigv4_headers(
    host: str, access_key: str, secret_key: str, now: datetime.datetime
) -> dict[str, str]:
    """Headers of an AWS Signature V4 `GET /` (ListBuckets) to `host`, region us-east-1."""
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(b"").hexdigest()
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = (
        f"GET\n/\n\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{stamp}\n\n"
        f"{signed}\n{payload}"
    )
    scope = f"{day}/us-east-1/s3/aws4_request"
    to_sign = (
        f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
    )
    key = f"AWS4{secret_key}".encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Host": host,
        "x-amz-date": stamp,
        "x-amz-content-sha256": payload,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}",
    }


def key_accepted(port: int, access_key: str, secret_key: str) -> bool | None:
    """Whether the S3 API on 127.0.0.1:`port` accepts a request signed with the key (None
    when it does not answer)."""
    host = f"127.0.0.1:{port}"
    now = datetime.datetime.now(datetime.UTC)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/", headers=sigv4_headers(host, access_key, secret_key, now))
        return connection.getresponse().status == 200
    except OSError:
        return None
    finally:
        connection.close()


def with_key(document: dict[str, object], access_key: str, secret_key: str) -> bool:
    """Add the key to the root identity of `document` (changed in place); False when it is
    there already. ValueError when the access key is there with another secret."""
    credentials = root_credential_list(document)
    for credential in credentials:
        if credential.get("accessKey") == access_key:
            if credential.get("secretKey") != secret_key:
                raise ValueError("that access key is there already, with another secret key")
            return False
    credentials.append({"accessKey": access_key, "secretKey": secret_key})
    return True


def without_key(document: dict[str, object], access_key: str) -> bool:
    """Remove the key from the root identity of `document` (in place); False when it was
    not there. ValueError rather than remove the last key."""
    credentials = root_credential_list(document)
    kept = [c for c in credentials if c.get("accessKey") != access_key]
    if len(kept) == len(credentials):
        return False
    if not kept:
        raise ValueError("that is the only key: add its successor first")
    credentials[:] = kept
    return True


def root_credential_list(document: dict[str, object]) -> list[dict[str, str]]:
    """The credentials list of the identity named root (shared with `document`)."""
    identities = document.get("identities")
    if isinstance(identities, list):
        for identity in identities:
            if isinstance(identity, dict) and identity.get("name") == "root":
                credentials = identity.setdefault("credentials", [])
                if isinstance(credentials, list):
                    return credentials
    raise ValueError("the identity file has no root identity")


def read_stdin_lines(count: int) -> list[str]:
    """`count` lines of standard input (keys are never arguments), without line breaks."""
    lines = [sys.stdin.readline().rstrip("\n") for _ in range(count)]
    if not all(lines):
        raise ValueError(f"expected {count} non-empty line(s) on standard input")
    return lines


def reload_weed(state_dir: str) -> None:
    """SIGHUP to SeaweedFS: it reads its S3 identity file again (no restart, open
    connections and requests in flight carry on)."""
    with open(os.path.join(state_dir, PID_FILE), encoding="utf-8") as handle:
        os.kill(int(handle.read().strip()), signal.SIGHUP)


def wait_for(accepted: bool, port: int, access_key: str, secret_key: str) -> bool:
    """Poll until the S3 API accepts (or refuses) the key; whether it did in time."""
    deadline = time.monotonic() + RELOAD_WAIT_SECONDS
    while True:
        if key_accepted(port, access_key, secret_key) is accepted:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def keys_main(argv: list[str], environ: dict[str, str], state_dir: str = STATE_DIR) -> int:
    """`objectstore-keys check|add|remove`: the keys SeaweedFS accepts, keys on stdin.

    check: ACCESS and SECRET lines; exit 0 when the S3 API accepts them, 1 when not.
    add: ACCESS and SECRET lines; the root identity gets that key beside its others.
    remove: an ACCESS line; the root identity loses that key (never its last one).
    add and remove reload SeaweedFS (SIGHUP) and wait until the change is in force.
    Exit 0 done, 1 failed, 2 bad input. Keys are never printed."""
    port = split_address(environ.get("MINIO_ADDRESS", DEFAULT_ADDRESS))[1]
    if len(argv) != 1 or argv[0] not in {"check", "add", "remove"}:
        print("usage: objectstore-keys check|add|remove (keys on stdin)", file=sys.stderr)
        return 2
    path = os.path.join(state_dir, IDENTITY_FILE)
    try:
        if argv[0] == "check":
            access_key, secret_key = read_stdin_lines(2)
            accepted = key_accepted(port, access_key, secret_key)
            print(
                {True: "the key is accepted", False: "the key is refused"}.get(
                    accepted, "the S3 API does not answer"
                )
            )
            return 0 if accepted else 1
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        if argv[0] == "add":
            access_key, secret_key = read_stdin_lines(2)
            changed, want = with_key(document, access_key, secret_key), True
        else:
            (access_key,) = read_stdin_lines(1)
            secret_key, want = "-", False
            changed = without_key(document, access_key)
        if changed:
            write_private_json(path, document)
            reload_weed(state_dir)
    except (ValueError, OSError) as exc:
        print(f"objectstore-keys {argv[0]}: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    if not wait_for(want, port, access_key, secret_key):
        state = "accept" if want else "refuse"
        print(f"objectstore-keys {argv[0]}: the S3 API does not {state} the key", file=sys.stderr)
        return 1
    count = len(root_credential_list(document))
    print(f"{'added' if want else 'removed'} a key: the store accepts {count} key(s)")
    return 0


def main() -> int:
    """Dispatch on the name this file was called by."""
    tool = os.path.basename(sys.argv[0])
    environ = dict(os.environ)
    if tool in {"mc", "mc.py"}:
        return mc_main(sys.argv[1:], environ)
    if tool == "objectstore-keys":
        return keys_main(sys.argv[1:], environ)
    return minio_main(sys.argv[1:], environ)


if __name__ == "__main__":
    sys.exit(main())
