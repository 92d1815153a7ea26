#!/opt/objectstore/venv/bin/python
"""`minio` and `mc` shims of the shipyard-local/objectstore stand-in for minio/minio.

Installed as /usr/local/bin/minio and /usr/local/bin/mc (the same file; the name it is
called by picks the tool), so a compose service written for the upstream image keeps
its command, environment and health check:

    minio server /data --console-address ":9001"   S3 API on :9000 (moto, in memory)
    mc ready local                                  exit 0 when the S3 API answers

Requests must carry an AWS signature (V4 or V2, header or presigned query) made with
MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (default minioadmin / minioadmin), as with MinIO;
SHIPYARD_OBJECTSTORE_AUTH=off accepts any credentials, as bare moto does. Objects live
in memory (spooled to the temporary directory when large) and vanish with the process:
this is for local and test stacks only. There is no web console on --console-address.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import logging
import os
import re
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

VERSION = "shipyard-local/objectstore (moto S3 stand-in for minio/minio)"
DEFAULT_ADDRESS = ":9000"
HEALTH_PATHS = frozenset(
    {
        "/minio/health/live",
        "/minio/health/ready",
        "/minio/health/cluster",
        "/minio/health/cluster/read",
    }
)
UNRESERVED = "-_.~"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


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


# --- AWS Signature V4 ------------------------------------------------------------------


class AuthError(Exception):
    """A request the stand-in refuses, with the S3 error code MinIO would send."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def signature_mismatch() -> AuthError:
    """S3's answer when no credential reproduces the request's signature."""
    return AuthError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe=UNRESERVED)


def canonical_query(raw_query: str, *, drop: str | None = None) -> str:
    """The SigV4 canonical query string: decoded, re-encoded, sorted."""
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        key, _, value = part.partition("=")
        key, value = urllib.parse.unquote(key), urllib.parse.unquote(value)
        if key != drop:
            pairs.append((_quote(key), _quote(value)))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def _header(environ: dict[str, Any], name: str) -> str:
    if name == "content-type":
        value = environ.get("CONTENT_TYPE", "")
    elif name == "content-length":
        value = environ.get("CONTENT_LENGTH", "")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    return " ".join(str(value).split())


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _parse_authorization(value: str) -> dict[str, str]:
    fields = {}
    for item in value[len("AWS4-HMAC-SHA256 ") :].split(","):
        key, _, val = item.strip().partition("=")
        fields[key] = val
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise AuthError("AuthorizationHeaderMalformed", "the authorization header is malformed")
    return fields


# Sub-resources that belong to a Signature V2 canonical resource (as botocore signs them).
V2_SUBRESOURCES = frozenset(
    [
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "legal-hold",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
    ]
)


def verify_request(environ: dict[str, Any], access_key: str, secret_key: str) -> None:
    """Raise AuthError unless the request is signed (V4 or V2) with these credentials."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if authorization.startswith("AWS4-HMAC-SHA256 ") or "X-Amz-Signature" in query:
        verify_sigv4(environ, access_key, secret_key)
    elif authorization.startswith("AWS ") or "Signature" in query:
        verify_sigv2(environ, access_key, secret_key)
    elif authorization:
        raise AuthError("AccessDenied", "unsupported authorization scheme")
    else:
        raise AuthError("AccessDenied", "Access Denied.")


def verify_sigv2(environ: dict[str, Any], access_key: str, secret_key: str) -> None:
    """Raise AuthError unless the Signature V2 (header or presigned query) matches."""
    raw_query = environ.get("QUERY_STRING", "")
    query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    amz_headers = {
        key[5:].lower().replace("_", "-"): " ".join(str(value).split())
        for key, value in environ.items()
        if key.startswith("HTTP_X_AMZ_")
    }
    if authorization:
        key_id, _, signature = authorization[len("AWS ") :].rpartition(":")
        date = "" if "x-amz-date" in amz_headers else _header(environ, "date")
    else:
        key_id = query.get("AWSAccessKeyId", [""])[0]
        signature = query["Signature"][0]
        date = query.get("Expires", [""])[0]
    if not hmac.compare_digest(key_id, access_key):
        raise AuthError(
            "InvalidAccessKeyId",
            "The Access Key Id you provided does not exist in our records.",
        )
    subresources = []
    for part in raw_query.split("&") if raw_query else []:
        key, sep, value = part.partition("=")
        if urllib.parse.unquote(key) in V2_SUBRESOURCES:
            value = urllib.parse.unquote(value)
            subresources.append(f"{key}={value}" if sep else key)
    path = _raw_path(environ)
    # A bucket-level path is signed as "/bucket/" by some clients (botocore) and
    # "/bucket" by others.
    paths = {path, path + "/"} if path.count("/") == 1 and path != "/" else {path}
    sub = "?" + "&".join(sorted(subresources)) if subresources else ""
    for resource in paths:
        to_sign = "\n".join(
            [
                environ.get("REQUEST_METHOD", "GET"),
                _header(environ, "content-md5"),
                _header(environ, "content-type"),
                date,
                "".join(f"{name}:{amz_headers[name]}\n" for name in sorted(amz_headers))
                + resource
                + sub,
            ]
        )
        expected = base64.b64encode(
            hmac.new(secret_key.encode(), to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if hmac.compare_digest(expected, signature):
            return
    raise signature_mismatch()


def _raw_path(environ: dict[str, Any]) -> str:
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "").split("?")[0]
    return raw or _quote_path(environ.get("PATH_INFO", "/"))


def verify_sigv4(environ: dict[str, Any], access_key: str, secret_key: str) -> None:
    """Raise AuthError unless the Signature V4 matches these credentials.

    Checks the header or presigned-query signature (for streaming uploads the seed
    signature); it does not check chunk signatures, clock skew or expiry.
    """
    raw_query = environ.get("QUERY_STRING", "")
    query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if authorization.startswith("AWS4-HMAC-SHA256 "):
        fields = _parse_authorization(authorization)
        credential, signed, signature = (
            fields["Credential"],
            fields["SignedHeaders"],
            fields["Signature"],
        )
        amz_date = environ.get("HTTP_X_AMZ_DATE", "")
        payload = environ.get("HTTP_X_AMZ_CONTENT_SHA256") or hashlib.sha256(b"").hexdigest()
        drop = None
    elif "X-Amz-Signature" in query:
        credential = query.get("X-Amz-Credential", [""])[0]
        signed = query.get("X-Amz-SignedHeaders", [""])[0]
        signature = query["X-Amz-Signature"][0]
        amz_date = query.get("X-Amz-Date", [""])[0]
        payload = "UNSIGNED-PAYLOAD"
        drop = "X-Amz-Signature"
    else:
        raise AuthError("AccessDenied", "Access Denied.")

    scope_parts = credential.split("/")
    if len(scope_parts) != 5:
        raise AuthError("AuthorizationHeaderMalformed", "the credential scope is malformed")
    key_id, date, region, service, _ = scope_parts
    if not hmac.compare_digest(key_id, access_key):
        raise AuthError(
            "InvalidAccessKeyId",
            "The Access Key Id you provided does not exist in our records.",
        )

    headers = "".join(f"{name}:{_header(environ, name)}\n" for name in signed.split(";"))
    scope = "/".join(scope_parts[1:])  # the scope leaves out the key id
    key = _signing_key(secret_key, date, region, service)
    candidates = {_raw_path(environ), _quote_path(environ.get("PATH_INFO", "/"))}
    for path in candidates:
        request = "\n".join(
            [
                environ.get("REQUEST_METHOD", "GET"),
                path,
                canonical_query(raw_query, drop=drop),
                headers,
                signed,
                payload,
            ]
        )
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()]
        )
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signature):
            return
    raise signature_mismatch()


def _quote_path(path: str) -> str:
    if isinstance(path, bytes):  # pragma: no cover - WSGI gives str
        path = path.decode()
    # PEP 3333: PATH_INFO is latin-1 decoded bytes.
    raw = path.encode("latin-1", errors="ignore").decode("utf-8", errors="replace")
    return urllib.parse.quote(raw, safe="/" + UNRESERVED) or "/"


# --- the WSGI gate in front of moto ------------------------------------------------------


def _s3_error(start_response: StartResponse, status: str, code: str, message: str) -> list:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()
    start_response(
        status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    )
    return [body]


def gate(app: WSGIApp, credentials: tuple[str, str] | None) -> WSGIApp:
    """MinIO's health endpoints, then SigV4 checks (unless credentials is None), then moto."""

    def gated(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") in HEALTH_PATHS:
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        if credentials is not None and environ.get("REQUEST_METHOD") != "OPTIONS":
            try:
                verify_request(environ, *credentials)
            except AuthError as exc:
                status = "400 Bad Request" if exc.code.endswith("Malformed") else "403 Forbidden"
                return _s3_error(start_response, status, exc.code, exc.message)
        return app(environ, start_response)

    return gated


# --- minio -----------------------------------------------------------------------------


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise SystemExit(f"ERROR invalid address {address!r}: expected [HOST]:PORT")
    return (host.strip("[]") or "0.0.0.0"), int(port)  # noqa: S104 - a server in a container


def minio_main(argv: list[str]) -> int:
    if argv and argv[0] == "minio":  # `command: minio server /data` under our entrypoint
        argv = argv[1:]
    if not argv or argv[0] in {"--version", "-v", "version"}:
        print(f"minio version {VERSION}")
        return 0
    if argv[0] != "server":
        print(f"minio: only `minio server` is implemented by {VERSION}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="minio server")
    parser.add_argument("--address", default=os.environ.get("MINIO_ADDRESS", DEFAULT_ADDRESS))
    parser.add_argument("--console-address", default=os.environ.get("MINIO_CONSOLE_ADDRESS"))
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--certs-dir", "-S")
    parser.add_argument("dirs", nargs="*")
    args, unknown = parser.parse_known_args(argv[1:])
    if unknown:
        print(f"WARNING: ignoring unsupported flags: {' '.join(unknown)}", file=sys.stderr)
    return serve(args)


def serve(args: argparse.Namespace) -> int:
    from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    environ = dict(os.environ)
    credentials: tuple[str, str] | None = root_credentials(environ)
    if environ.get("SHIPYARD_OBJECTSTORE_AUTH", "sigv4").lower() in {"off", "0", "false"}:
        credentials = None
    host, port = _split_address(args.address)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = gate(create_backend_app("s3"), credentials)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not args.quiet:
        shown = "0.0.0.0" if host in {"", "0.0.0.0"} else host  # noqa: S104
        print(f"{VERSION}")
        print(f"S3-API: http://{shown}:{port}")
        print(
            "Storage: in memory (moto); "
            f"{' '.join(args.dirs) or '(no dir)'} is not used, objects vanish on exit"
        )
        auth = "SigV4 with MINIO_ROOT_USER/PASSWORD" if credentials else "any credentials"
        print(f"Auth: {auth}")
        if args.console_address:
            print(f"Console: none ({args.console_address} is not served by this stand-in)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


# --- mc ----------------------------------------------------------------------------------


def alias_url(alias: str, environ: dict[str, str]) -> str:
    """The endpoint of an mc alias: MC_HOST_<alias>, or `local` = http://127.0.0.1:9000."""
    configured = environ.get(f"MC_HOST_{alias}")
    if configured:
        parts = urllib.parse.urlsplit(configured)
        netloc = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((parts.scheme, netloc, "", "", ""))
    if alias == "local":
        port = _split_address(environ.get("MINIO_ADDRESS", DEFAULT_ADDRESS))[1]
        return f"http://127.0.0.1:{port}"
    raise SystemExit(f"mc: <ERROR> unknown alias {alias!r}: set MC_HOST_{alias}")


def mc_main(argv: list[str]) -> int:
    if argv and argv[0] in {"--version", "-v", "version"}:
        print(f"mc version {VERSION}")
        return 0
    if len(argv) < 2 or argv[0] != "ready":
        print(f"mc: only `mc ready ALIAS` is implemented by {VERSION}", file=sys.stderr)
        return 2
    alias = next((arg for arg in argv[1:] if not arg.startswith("-")), "local")
    url = alias_url(alias, dict(os.environ)) + "/minio/health/ready"
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
    tool = os.path.basename(sys.argv[0])
    if re.fullmatch(r"mc(\.py)?", tool):
        return mc_main(sys.argv[1:])
    return minio_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
