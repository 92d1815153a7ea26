"""Every variable the stack reads: the one source of truth for env files.

`.env.example`, the reference in docs/configuration.md, validation and `inv env.init` are
all derived from `VARIABLES`. The names are a contract with the app (app/docstore/settings.py)
and the compose files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from shipyard.errors import ConfigError

ENVIRONMENTS = ("local", "sandbox", "staging", "production")
ALL = frozenset(ENVIRONMENTS)
DEV = frozenset({"local", "sandbox"})
SERVERS = frozenset({"staging", "production"})
PRODUCTION = frozenset({"production"})

IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = rf"^{_LABEL}(\.{_LABEL})*$"
NO_WHITESPACE = r"^\S+$"


class VarType(StrEnum):
    """What kind of value a variable holds."""

    STRING = "string"
    INT = "int"
    BOOL = "bool"
    URL = "url"
    EMAIL = "email"
    HOST_PORT = "host:port"
    SECRET = "secret"  # noqa: S105 - a type name


class SecretKind(StrEnum):
    """Which strength rules a secret follows."""

    PASSWORD = "password"  # noqa: S105 - a kind name
    ACCESS_KEY = "access key"
    KEY = "key"


@dataclass(frozen=True)
class Variable:
    """One variable: what it is, where it is required, what values it accepts."""

    name: str
    group: str
    description: str
    type: VarType = VarType.STRING
    required_in: frozenset[str] = frozenset()
    allowed_in: frozenset[str] = ALL
    default: str | None = None
    example: str = ""
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    min_length: int = 0
    min_value: int | None = None
    max_value: int | None = None
    secret_kind: SecretKind | None = None
    https_in: frozenset[str] = frozenset()
    false_in: frozenset[str] = frozenset()
    forbidden_in: frozenset[str] = frozenset()
    forbidden_values: tuple[str, ...] = ()
    must_equal_environment: bool = False
    deployer_only: bool = False
    """Used by the deployer's machine only: left out of the `.env` uploaded to the VM."""

    @property
    def is_secret(self) -> bool:
        """True for values that must never be printed."""
        return self.type is VarType.SECRET

    def required(self, env: str) -> bool:
        """True when the file for `env` must set this variable."""
        return env in self.required_in


GROUPS: Mapping[str, str] = {
    "app": "the web application",
    "database": "PostgreSQL",
    "object storage": "an S3-compatible object store (the in-stack one, or any S3 service)",
    "proxy": "nginx",
    "tls": "https at the edge: certificates from ACME or your own, HSTS (docs/edge.md)",
    "backups": "where `inv backup` writes (any S3-compatible service; docs/backups.md)",
    "image registry": "the login `inv deploy` uses with image_delivery: registry (docs/deploy.md)",
    "alerting": "where Alertmanager sends alerts (docs/monitoring.md); rendered on the host"
    " that runs it, never committed",
    "monitoring": "the monitoring profile (Prometheus, Alertmanager, Grafana; docs/monitoring.md)",
    "images": "set by Shipyard itself (image choices, build stamp); leave them out of the file",
}

SECRET_PLACEHOLDER = "CHANGE_ME"  # noqa: S105 - the example file's placeholder

VARIABLES: tuple[Variable, ...] = (
    Variable(
        "APP_ENV",
        "app",
        "Which environment this file is for; must equal the target (--env).",
        required_in=ALL,
        choices=ENVIRONMENTS,
        example="local",
        must_equal_environment=True,
    ),
    Variable(
        "LOG_LEVEL",
        "app",
        "Least severe level the app logs.",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    ),
    Variable(
        "DEBUG",
        "app",
        "Debug mode: tracebacks in responses. Must be false in production.",
        type=VarType.BOOL,
        default="false",
        false_in=PRODUCTION,
    ),
    Variable(
        "PUBLIC_URL",
        "app",
        "The URL users reach the app at; https in staging and production, and equal to the"
        " environment's public_url in invoke.yaml.",
        type=VarType.URL,
        required_in=ALL,
        example="http://127.0.0.1:8080",
        https_in=SERVERS,
    ),
    Variable(
        "MAX_UPLOAD_BYTES",
        "app",
        "Largest accepted upload, in bytes.",
        type=VarType.INT,
        default="10485760",
        min_value=1,
    ),
    Variable(
        "WEB_CONCURRENCY",
        "app",
        "gunicorn worker processes.",
        type=VarType.INT,
        default="2",
        min_value=1,
        max_value=64,
    ),
    Variable(
        "GUNICORN_TIMEOUT",
        "app",
        "Seconds before gunicorn restarts a silent worker.",
        type=VarType.INT,
        default="30",
        min_value=1,
    ),
    Variable(
        "GUNICORN_GRACEFUL_TIMEOUT",
        "app",
        "Seconds a worker gets to finish its requests on shutdown.",
        type=VarType.INT,
        default="20",
        min_value=0,
    ),
    Variable(
        "POSTGRES_HOST",
        "database",
        "Database host name (the compose service).",
        default="db",
        pattern=HOSTNAME,
    ),
    Variable(
        "POSTGRES_PORT",
        "database",
        "Database port.",
        type=VarType.INT,
        default="5432",
        min_value=1,
        max_value=65535,
    ),
    Variable(
        "POSTGRES_DB",
        "database",
        "Database name: lowercase letters, digits and _, at most 63.",
        required_in=ALL,
        example="docstore",
        pattern=IDENTIFIER,
    ),
    Variable(
        "POSTGRES_USER",
        "database",
        "Database role the app connects as; not `postgres` in staging or production.",
        required_in=ALL,
        example="docstore",
        pattern=IDENTIFIER,
        forbidden_in=SERVERS,
        forbidden_values=("postgres",),
    ),
    Variable(
        "POSTGRES_PASSWORD",
        "database",
        "Password of POSTGRES_USER: at least 12 characters, no well-known default.",
        type=VarType.SECRET,
        secret_kind=SecretKind.PASSWORD,
        required_in=ALL,
        min_length=12,
        example=SECRET_PLACEHOLDER,
    ),
    Variable(
        "S3_ENDPOINT",
        "object storage",
        "host:port of the S3 API, without a scheme (S3_SECURE picks TLS).",
        type=VarType.HOST_PORT,
        default="objectstore:9000",
    ),
    Variable(
        "S3_ACCESS_KEY",
        "object storage",
        "Access key id (the in-stack object store's root user): at least 16 characters.",
        type=VarType.SECRET,
        secret_kind=SecretKind.ACCESS_KEY,
        required_in=ALL,
        min_length=16,
        example=SECRET_PLACEHOLDER,
    ),
    Variable(
        "S3_SECRET_KEY",
        "object storage",
        "Secret key (the in-stack object store's root password): at least 32 characters.",
        type=VarType.SECRET,
        secret_kind=SecretKind.KEY,
        required_in=ALL,
        min_length=32,
        example=SECRET_PLACEHOLDER,
    ),
    Variable(
        "S3_BUCKET",
        "object storage",
        "Bucket of the app's documents: a valid S3 bucket name.",
        default="documents",
    ),
    Variable(
        "S3_REGION",
        "object storage",
        "Region of the bucket.",
        default="us-east-1",
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
    ),
    Variable(
        "S3_SECURE",
        "object storage",
        "Talk to the S3 endpoint over TLS; true in staging and production unless the endpoint"
        " is the in-stack objectstore.",
        type=VarType.BOOL,
        default="false",
    ),
    Variable(
        "HTTP_PORT",
        "proxy",
        "Host port nginx publishes on (local and sandbox; staging and production use 80).",
        type=VarType.INT,
        default="8080",
        allowed_in=DEV,
        min_value=1,
        max_value=65535,
    ),
    Variable(
        "S3_OPS_PORT",
        "object storage",
        "Host port, on 127.0.0.1 only, where the in-stack object store's S3 API is published"
        " for tools on the host (backups and restores). Unset: a free port Docker picks,"
        " which Shipyard finds with `docker compose port`.",
        type=VarType.INT,
        min_value=1,
        max_value=65535,
    ),
    Variable(
        "BACKUP_S3_ENDPOINT",
        "backups",
        "host:port of the S3 API backups go to, without a scheme. `inv backup` needs it in"
        " staging and production; local and sandbox default to the in-stack object store"
        " (bucket BACKUP_S3_BUCKET), which protects nothing against losing the host.",
        type=VarType.HOST_PORT,
    ),
    Variable(
        "BACKUP_S3_ACCESS_KEY",
        "backups",
        "Access key id for the backup bucket (default in local and sandbox: S3_ACCESS_KEY).",
        type=VarType.SECRET,
        secret_kind=SecretKind.ACCESS_KEY,
        min_length=16,
    ),
    Variable(
        "BACKUP_S3_SECRET_KEY",
        "backups",
        "Secret key for the backup bucket (default in local and sandbox: S3_SECRET_KEY).",
        type=VarType.SECRET,
        secret_kind=SecretKind.KEY,
        min_length=24,
    ),
    Variable(
        "BACKUP_S3_BUCKET",
        "backups",
        "Bucket backups are written to; it must exist (local and sandbox create it).",
        default="backups",
    ),
    Variable(
        "BACKUP_S3_PREFIX",
        "backups",
        "Key prefix inside the bucket; backups live under PREFIX/ENV/.",
        default="shipyard",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*[A-Za-z0-9]$",
    ),
    Variable(
        "BACKUP_S3_REGION",
        "backups",
        "Region of the backup bucket.",
        default="us-east-1",
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
    ),
    Variable(
        "BACKUP_S3_SECURE",
        "backups",
        "Talk to the backup endpoint over TLS (true for every hosted S3 service).",
        type=VarType.BOOL,
        default="false",
    ),
    Variable(
        "BACKUP_ENCRYPTION_KEY_FILE",
        "backups",
        "Path of a file holding a 32-byte key (64 hex digits): when set, everything written"
        " to the backup bucket is encrypted with AES-256-GCM before it leaves the host. Keep"
        " a copy of the key away from the bucket: without it no backup can be restored.",
        pattern=NO_WHITESPACE,
    ),
    Variable(
        "PG_ARCHIVE_TIMEOUT",
        "backups",
        "Seconds after which PostgreSQL switches to a new WAL segment even when the database"
        " is idle, so pgBackRest archives it (compose/compose.pitr.yaml): at most this much"
        " of the last writes is lost with the host. Smaller costs a 16 MB segment each time.",
        type=VarType.INT,
        default="60",
        min_value=10,
        max_value=3600,
    ),
    Variable(
        "REGISTRY_USERNAME",
        "image registry",
        "User `inv deploy` logs in to the environment's registry as (image_delivery:"
        " registry), here and on the VM, for that deploy only. Set it with REGISTRY_PASSWORD,"
        " or neither: then the logins Docker already has on both machines are used."
        " Never uploaded to the VM.",
        pattern=NO_WHITESPACE,
        deployer_only=True,
    ),
    Variable(
        "REGISTRY_PASSWORD",
        "image registry",
        "Password or access token of REGISTRY_USERNAME (given to `docker login` on its"
        " standard input; never stored in ~/.docker, never uploaded to the VM).",
        type=VarType.SECRET,
        secret_kind=SecretKind.PASSWORD,
        min_length=8,
        deployer_only=True,
    ),
    Variable(
        "ALERT_EMAIL_TO",
        "alerting",
        "Who gets alert mail (critical and warning alerts); needs ALERT_SMTP_SMARTHOST.",
        type=VarType.EMAIL,
        example="oncall@example.com",
    ),
    Variable(
        "ALERT_EMAIL_FROM",
        "alerting",
        "Sender of alert mail (default: alertmanager@ the recipient's domain).",
        type=VarType.EMAIL,
    ),
    Variable(
        "ALERT_SMTP_SMARTHOST",
        "alerting",
        "host:port of the SMTP server Alertmanager sends through.",
        type=VarType.HOST_PORT,
        example="smtp.example.com:587",
    ),
    Variable(
        "ALERT_SMTP_USERNAME",
        "alerting",
        "SMTP login of Alertmanager (unset: no authentication).",
        pattern=NO_WHITESPACE,
    ),
    Variable(
        "ALERT_SMTP_PASSWORD",
        "alerting",
        "SMTP password of ALERT_SMTP_USERNAME.",
        type=VarType.SECRET,
        secret_kind=SecretKind.PASSWORD,
        min_length=8,
    ),
    Variable(
        "ALERT_SMTP_REQUIRE_TLS",
        "alerting",
        "Require STARTTLS to the SMTP server.",
        type=VarType.BOOL,
        default="true",
    ),
    Variable(
        "ALERT_PAGERDUTY_ROUTING_KEY",
        "alerting",
        "PagerDuty Events API v2 integration (routing) key: critical alerts page.",
        type=VarType.SECRET,
        secret_kind=SecretKind.KEY,
        min_length=20,
    ),
    Variable(
        "ALERT_PAGERDUTY_URL",
        "alerting",
        "PagerDuty Events API URL (default: Alertmanager's, the US service region).",
        type=VarType.URL,
    ),
    Variable(
        "ALERT_SLACK_WEBHOOK_URL",
        "alerting",
        "Slack incoming-webhook URL (a secret): warning alerts are posted there.",
        type=VarType.SECRET,
        secret_kind=SecretKind.KEY,
        min_length=20,
    ),
    Variable(
        "ALERT_SLACK_CHANNEL",
        "alerting",
        "Slack channel, when the webhook's own default is not the one.",
        pattern=NO_WHITESPACE,
    ),
    Variable(
        "ALERT_WEBHOOK_URL",
        "alerting",
        "A URL that receives every alert as Alertmanager's webhook JSON (chat bridges, tests).",
        type=VarType.URL,
    ),
    Variable(
        "GRAFANA_ADMIN_PASSWORD",
        "monitoring",
        "Password of Grafana's `admin` user (the monitoring profile; never admin/admin).",
        type=VarType.SECRET,
        secret_kind=SecretKind.PASSWORD,
        min_length=12,
    ),
    Variable(
        "PROMETHEUS_RETENTION_TIME",
        "monitoring",
        "How long Prometheus keeps samples (a Prometheus duration: 15d, 4w).",
        default="15d",
        pattern=r"^[0-9]+(ms|s|m|h|d|w|y)$",
    ),
    Variable(
        "PROMETHEUS_RETENTION_SIZE",
        "monitoring",
        "Most disk Prometheus's samples may use; the oldest go first (512MB, 2GB).",
        default="2GB",
        pattern=r"^[0-9]+(B|KB|MB|GB|TB)$",
    ),
    Variable(
        "MONITORING",
        "monitoring",
        "Start the monitoring profile with every `inv deploy` to a VM (its config in the"
        " release, its data in volumes that outlive releases). Unset: on in staging and"
        " production, off in sandbox; local starts it with `inv monitoring.up`.",
        type=VarType.BOOL,
        allowed_in=frozenset({"sandbox", "staging", "production"}),
    ),
    Variable("APP_IMAGE", "images", "App image reference.", pattern=NO_WHITESPACE),
    Variable("PYTHON_IMAGE", "images", "Base image of the app build.", pattern=NO_WHITESPACE),
    Variable("POSTGRES_IMAGE", "images", "PostgreSQL image.", pattern=NO_WHITESPACE),
    Variable("NGINX_IMAGE", "images", "nginx image.", pattern=NO_WHITESPACE),
    Variable("OBJECTSTORE_IMAGE", "images", "Object store image.", pattern=NO_WHITESPACE),
    Variable(
        "PIP_CA_BUNDLE",
        "images",
        "CA bundle for pip during the app build (behind a TLS-inspecting proxy).",
    ),
    Variable("APP_VERSION", "images", "App version stamped into the build.", pattern=NO_WHITESPACE),
    Variable("GIT_SHA", "images", "Git commit stamped into the build.", pattern=NO_WHITESPACE),
    Variable("BUILD_TIME", "images", "Build time stamped into the build.", pattern=NO_WHITESPACE),
    Variable(
        "MIGRATIONS_HEAD",
        "images",
        "Alembic head(s) stamped into the build (a deploy skips migrations already applied).",
        pattern=NO_WHITESPACE,
    ),
    Variable("PROMETHEUS_IMAGE", "images", "Prometheus image.", pattern=NO_WHITESPACE),
    Variable("ALERTMANAGER_IMAGE", "images", "Alertmanager image.", pattern=NO_WHITESPACE),
    Variable("GRAFANA_IMAGE", "images", "Grafana image (upstream only).", pattern=NO_WHITESPACE),
    Variable("NODE_EXPORTER_IMAGE", "images", "node-exporter image.", pattern=NO_WHITESPACE),
    Variable(
        "POSTGRES_EXPORTER_IMAGE", "images", "postgres-exporter image.", pattern=NO_WHITESPACE
    ),
    Variable("NGINX_EXPORTER_IMAGE", "images", "nginx exporter image.", pattern=NO_WHITESPACE),
    Variable(
        "BLACKBOX_EXPORTER_IMAGE", "images", "blackbox exporter image.", pattern=NO_WHITESPACE
    ),
    Variable(
        "SHIPYARD_MONITORING_DIR",
        "images",
        "Where the monitoring profile's rendered prometheus.yml and alertmanager.yml are.",
        pattern=NO_WHITESPACE,
    ),
    Variable(
        "SHIPYARD_TEXTFILE_DIR",
        "images",
        "node-exporter's textfile directory (backup.metrics_dir), for the monitoring profile.",
        pattern=NO_WHITESPACE,
    ),
    Variable(
        "SHIPYARD_NGINX_DIR",
        "images",
        "On a VM: the live nginx config directory (shared/nginx) that `inv deploy` switches.",
        pattern=NO_WHITESPACE,
    ),
    Variable(
        "SHIPYARD_SECRETS_DIR",
        "images",
        "Where the secret files the containers mount under /run/secrets are: locally"
        " .shipyard/secrets/PROJECT/..., on a VM the release's secrets/ (docs/configuration.md,"
        " Secrets as files).",
        pattern=NO_WHITESPACE,
    ),
    Variable(
        "SHIPYARD_DATA_SECRETS_DIR",
        "images",
        "On a VM: where the database's and object store's secret files are (shared/secrets,"
        " kept across releases); unset: SHIPYARD_SECRETS_DIR.",
        pattern=NO_WHITESPACE,
    ),
    Variable("ACME_IMAGE", "images", "ACME client (lego) image.", pattern=NO_WHITESPACE),
    Variable(
        "SHIPYARD_CERTS_DIR",
        "images",
        "On a VM: certificates and the ACME client's state (shared/certs), mounted by nginx.",
        pattern=NO_WHITESPACE,
    ),
    Variable(
        "HTTPS_PORT",
        "tls",
        "Host port nginx publishes https on (local and sandbox; staging and production use 443).",
        type=VarType.INT,
        allowed_in=DEV,
        min_value=1,
        max_value=65535,
    ),
    Variable(
        "ACME_DIRECTORY",
        "tls",
        "ACME server certificates come from when PUBLIC_URL is https: `letsencrypt`,"
        " `letsencrypt-staging`, or the https:// directory URL of any RFC 8555 server.",
        default="letsencrypt",
        pattern=r"^(letsencrypt|letsencrypt-staging|https://\S+)$",
    ),
    Variable(
        "ACME_EMAIL",
        "tls",
        "Contact address of the ACME account (expiry notices, where the CA sends them).",
        type=VarType.EMAIL,
    ),
    Variable(
        "ACME_CA_FILE",
        "tls",
        "CA file of the ACME server's own HTTPS, for a test server (the sandbox's Pebble);"
        " unset for Let's Encrypt.",
        pattern=NO_WHITESPACE,
    ),
    Variable(
        "TLS_EXTRA_NAMES",
        "tls",
        "More host names the certificate covers besides PUBLIC_URL's host, comma-separated"
        " (each must point at the VM for ACME).",
        pattern=r"^[A-Za-z0-9.*-]+(,[A-Za-z0-9.*-]+)*$",
    ),
    Variable(
        "TLS_CERT_FILE",
        "tls",
        "Bring your own certificate instead of ACME: PEM file of the certificate and its"
        " chain on the deployer's machine (set with TLS_KEY_FILE). Refused before a deploy"
        " when expired, not yet valid, for other names or not matching the key.",
        pattern=NO_WHITESPACE,
        deployer_only=True,
    ),
    Variable(
        "TLS_KEY_FILE",
        "tls",
        "PEM file of TLS_CERT_FILE's unencrypted private key (uploaded to shared/certs, 0600).",
        pattern=NO_WHITESPACE,
        deployer_only=True,
    ),
    Variable(
        "TLS_TRUST_FILE",
        "tls",
        "A CA the smoke checks and benches trust besides the system's: a test CA's root"
        " (the sandbox's Pebble). Never needed with a public CA.",
        pattern=NO_WHITESPACE,
        deployer_only=True,
    ),
    Variable(
        "HSTS_INCLUDE_SUBDOMAINS",
        "tls",
        "Add includeSubDomains to HSTS (max-age two years): only when every subdomain is https.",
        type=VarType.BOOL,
        default="false",
    ),
    Variable(
        "RATE_LIMIT_PER_MINUTE",
        "proxy",
        "Requests a minute nginx lets one client address make (every request counts); over"
        " it, 429 with Retry-After. Default 100; 3000 in local and sandbox (load tests).",
        type=VarType.INT,
        default="100",
        min_value=1,
        max_value=600000,
    ),
    Variable(
        "RATE_LIMIT_BURST",
        "proxy",
        "Requests above RATE_LIMIT_PER_MINUTE a client may send at once before 429s start."
        " Default 50; 100 in local and sandbox.",
        type=VarType.INT,
        default="50",
        min_value=0,
        max_value=100000,
    ),
    Variable(
        "RATE_LIMIT_WRITES_PER_MINUTE",
        "proxy",
        "Stricter limit for expensive requests (POST, PUT, PATCH, DELETE: uploads among"
        " them), per client address, on top of the general one. Default 10; 600 in local"
        " and sandbox.",
        type=VarType.INT,
        default="10",
        min_value=1,
        max_value=600000,
    ),
    Variable(
        "RATE_LIMIT_WRITES_BURST",
        "proxy",
        "Writes above RATE_LIMIT_WRITES_PER_MINUTE a client may send at once.",
        type=VarType.INT,
        default="10",
        min_value=0,
        max_value=100000,
    ),
    Variable(
        "CORS_ORIGINS",
        "proxy",
        "Origins (scheme://host[:port], comma-separated) whose browsers may call the API"
        " cross-origin; unset: none, and no response carries CORS headers.",
        pattern=r"^https?://[^,\s/]+(,\s*https?://[^,\s/]+)*$",
    ),
    Variable(
        "CORS_CREDENTIALS",
        "proxy",
        "Allow cookies and credentials on cross-origin requests from CORS_ORIGINS.",
        type=VarType.BOOL,
        default="false",
    ),
    Variable(
        "CORS_MAX_AGE",
        "proxy",
        "Seconds a browser may cache a preflight answer (Access-Control-Max-Age).",
        type=VarType.INT,
        default="600",
        min_value=0,
        max_value=86400,
    ),
    Variable(
        "PROXY_CONNECT_TIMEOUT",
        "proxy",
        "Seconds nginx waits to connect to the app.",
        type=VarType.INT,
        default="5",
        min_value=1,
        max_value=75,
    ),
    Variable(
        "PROXY_READ_TIMEOUT",
        "proxy",
        "Seconds nginx waits between two reads of the app's response (504 after).",
        type=VarType.INT,
        default="60",
        min_value=1,
        max_value=3600,
    ),
    Variable(
        "PROXY_SEND_TIMEOUT",
        "proxy",
        "Seconds nginx waits between two writes of a request body to the app.",
        type=VarType.INT,
        default="60",
        min_value=1,
        max_value=3600,
    ),
    Variable(
        "REAL_IP_FROM",
        "proxy",
        "Addresses or CIDR networks of a load balancer in front of the VM (comma-separated):"
        " their REAL_IP_HEADER names the client, for logs and rate limits. Unset: off (the"
        " connection's address counts).",
        pattern=r"^[0-9A-Fa-f:./]+(,\s*[0-9A-Fa-f:./]+)*$",
    ),
    Variable(
        "REAL_IP_HEADER",
        "proxy",
        "Header the load balancer of REAL_IP_FROM puts the client's address in.",
        default="X-Forwarded-For",
        pattern=r"^[A-Za-z0-9-]+$",
    ),
    Variable(
        "HSTS_PRELOAD",
        "tls",
        "Add preload to HSTS (for the browsers' preload list; hard to undo).",
        type=VarType.BOOL,
        default="false",
    ),
)

BY_NAME: Mapping[str, Variable] = {variable.name: variable for variable in VARIABLES}

SET_TOGETHER: tuple[tuple[str, str], ...] = (
    ("REGISTRY_USERNAME", "REGISTRY_PASSWORD"),
    ("TLS_CERT_FILE", "TLS_KEY_FILE"),
)
"""Pairs of variables a file sets both or neither of."""


def variable(name: str) -> Variable | None:
    """The declared variable `name`, or None."""
    return BY_NAME.get(name)


def require_known_environment(env: str) -> None:
    """Raise a ConfigError unless the schema has rules for `env`."""
    if env not in ENVIRONMENTS:
        raise ConfigError(
            f"environment {env!r} has no env-file rules",
            hint=f"the schema knows {', '.join(ENVIRONMENTS)}",
        )


def looks_secret(name: str) -> bool:
    """True for keys whose value is a secret: declared secrets, and unknown keys that sound
    like one (a typo of a secret's name must not print its value)."""
    declared = BY_NAME.get(name.upper())
    if declared is not None:
        return declared.is_secret
    upper = name.upper()
    return any(word in upper for word in ("PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PWD"))
