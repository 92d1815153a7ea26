"""The deploy plan: the VM layout and every command a deploy runs there. Pure.

Nothing here runs anything: each function returns a path or an argv list, and the other
modules of `shipyard.deploy` execute them over a Runner. Unit tests compare them exactly.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shipyard.compose import ComposeProject
from shipyard.vm.layout import Layout, is_release_id

APP_SERVICE = "app"
DATA_SERVICES = ("db", "objectstore")
EDGE_SERVICE = "nginx"
APP_PORT = 8000
SOCKET_DIR = "/run/app"
"""The volume shared by the app containers and nginx on a VM (compose.production.yaml):
each app container's gunicorn listens on `<hostname>.sock` there."""
LIVE_SOCKET = "live.sock"
"""The symlink in SOCKET_DIR that nginx's upstream connects through: the serving container's
socket. Pointing it elsewhere (an atomic rename) moves traffic without an nginx reload."""
SOCKET_CONNECTIONS = '$NF == path && $4 != "00010000"'
"""awk over /proc/net/unix: a container's connections on its socket, accepted or queued
(the listening socket itself carries the __SO_ACCEPTCON flag, 00010000)."""
MIGRATE = ("alembic", "upgrade", "head")
GATE_PROBE = (
    "import json, sys, urllib.error, urllib.request\n"
    "base = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:8000'\n"
    "for path in ('/health', '/ready'):\n"
    "    try:\n"
    "        urllib.request.urlopen(base + path, timeout=3)\n"
    "    except urllib.error.HTTPError as exc:\n"
    "        try:\n"
    "            checks = json.load(exc)['checks']\n"
    "            failing = {k: v for k, v in checks.items() if v.get('status') != 'ok'}\n"
    "            why = '; '.join(f\"{k}: {v.get('error') or v.get('status')}\"\n"
    "                            for k, v in failing.items())\n"
    "        except Exception:\n"
    "            why = ''\n"
    "        sys.exit(f'{path}: HTTP {exc.code}' + (f' ({why})' if why else ''))\n"
    "    except Exception as exc:\n"
    "        sys.exit(f'{path}: {exc}')\n"
)
"""Python run inside an app container: exit 0 when /health and /ready both answer 2xx,
else exit 1 with `PATH: why` on stderr; for an HTTP error, why names each failing check of
the JSON body and its error, e.g. `/ready: HTTP 503 (database: OperationalError: ...)`.
(An argument replaces the base URL, for tests.)"""
STATE_FORMAT = "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}"
"""A container's state and Docker health, e.g. `running starting`, `exited `."""
NGINX_WORKERS = (
    'for p in /proc/[0-9]*; do case "$(tr "\\0" " " < "$p/cmdline" 2>/dev/null)" in '
    '"nginx: worker process"*) echo "${p#/proc/}";; esac; done'
)
"""Shell run in the nginx container: the pids of its worker processes, one a line."""
NGINX_DIR_VARIABLE = "SHIPYARD_NGINX_DIR"
"""compose.production.yaml mounts nginx's config from here (the VM's shared/nginx)."""
CERTS_DIR_VARIABLE = "SHIPYARD_CERTS_DIR"
"""compose.production.yaml mounts nginx's certificate and ACME webroot from here."""


def deploy_variables(images: Mapping[str, str], layout: Layout) -> dict[str, str]:
    """The compose variables a release adds to its `.env` (image choices, nginx config dir)."""
    return {
        **dict(sorted(images.items())),
        NGINX_DIR_VARIABLE: layout.nginx,
        CERTS_DIR_VARIABLE: layout.certs,
    }


def release_env_text(env_text: str, variables: Mapping[str, str]) -> str:
    """The env file as uploaded: the operator's file, then the variables Shipyard sets."""
    lines = [env_text.rstrip("\n"), "", "# --- set by `inv deploy` ---"]
    lines += [f"{name}={value}" for name, value in variables.items()]
    return "\n".join(lines) + "\n"


def upstream_conf() -> str:
    """nginx's `app` upstream on a VM: the live socket, whichever container it points at.

    No upstream keepalive: an idle cached connection would keep sending new requests to the
    old container after the switch; a unix socket connection costs next to nothing."""
    return (
        "# Written by `inv deploy`: nginx reaches the serving app container through the\n"
        "# live.sock symlink, which the deploy points at that container's socket.\n"
        "upstream app {\n"
        f"    server unix:{posixpath.join(SOCKET_DIR, LIVE_SOCKET)};\n"
        "}\n"
    )


# -- commands on the VM ---------------------------------------------------------------------


def sh(script: str, *args: str) -> list[str]:
    """`sh -c SCRIPT sh ARGS...`: a tiny script with its data as positional parameters."""
    return ["sh", "-c", script, "sh", *args]


def prepare_dirs_argv(layout: Layout) -> list[str]:
    """Create releases/, shared/nginx/conf.d and the directories of shared/certs that nginx
    mounts (nothing else is touched)."""
    certs = (posixpath.join(layout.certs, name) for name in ("live", "webroot"))
    return ["mkdir", "-p", layout.releases, posixpath.join(layout.nginx, "conf.d"), *certs]


def disk_free_argv(layout: Layout) -> list[str]:
    """Free space (POSIX df, KiB) of the file system holding the deploy path's parent."""
    return ["df", "-Pk", posixpath.dirname(layout.root.rstrip("/")) or "/"]


def parse_df_kib(output: str) -> int:
    """The `Available` column of `df -Pk` output, in KiB."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return int(lines[-1].split()[3])


KEEPER_SCRIPT = (
    'lock="$1"; claim="$2"; '
    'if [ -n "$claim" ]; then '
    'mv "$lock/keeper.$claim" "$lock/taken.$claim" 2>/dev/null || { echo lost; exit 0; }; '
    'else mkdir "$lock" 2>/dev/null || { echo busy; exit 0; }; fi; '
    'start=$(sed "s/.*) //" /proc/$$/stat | cut -d" " -f20); '
    'printf "%s\\n" "$3" > "$lock/owner.json"; '
    'cat /proc/sys/kernel/random/boot_id > "$lock/keeper.$$-$start"; '
    'echo "locked $$-$start"; exec sleep 2147483647'
)
"""Takes the lock and then lives as long as the deploy's SSH channel (run it under the
runner's watchdog): its pid and start time name `keeper.PID-START` in the lock (the file
holds the boot id), so a later deploy can prove a holder dead even across pid reuse.
Prints `locked PID-START`, or `busy` (held) / `lost` (another deploy claimed a stale one)."""

HOLDER_STATE_SCRIPT = (
    'for k in "$1"/keeper.*; do [ -f "$k" ] || break; id="${k##*/keeper.}"; '
    'pid="${id%-*}"; start="${id#*-}"; '
    'now=$(sed "s/.*) //" "/proc/$pid/stat" 2>/dev/null | cut -d" " -f20); '
    'if [ "$(cat "$k")" = "$(cat /proc/sys/kernel/random/boot_id)" ] '
    '&& [ "$now" = "$start" ]; then echo "alive $id"; else echo "dead $id"; fi; exit 0; done; '
    "echo unknown"
)
"""`alive ID` / `dead ID` for the lock's keeper, `unknown` when the lock names none."""


def keeper_argv(layout: Layout, owner: Mapping[str, str], claim: str = "") -> list[str]:
    """Take the lock (atomic `mkdir`, or claim the dead keeper `claim` by an atomic rename),
    write the holder's facts (owner.json), then stay alive as the lock's keeper."""
    facts = json.dumps(dict(owner), sort_keys=True)
    return sh(KEEPER_SCRIPT, layout.lock, claim, facts)


def holder_state_argv(layout: Layout) -> list[str]:
    """Whether the lock's keeper process still runs (see HOLDER_STATE_SCRIPT)."""
    return sh(HOLDER_STATE_SCRIPT, layout.lock)


def parse_holder_state(output: str) -> tuple[str, str]:
    """`alive 12-345` -> ("alive", "12-345"); anything unexpected is ("unknown", "")."""
    words = output.split()
    if len(words) == 2 and words[0] in ("alive", "dead"):
        return words[0], words[1]
    return "unknown", ""


def read_lock_argv(layout: Layout) -> list[str]:
    """The holder's facts, or exit 1 when there is no lock."""
    return ["cat", posixpath.join(layout.lock, "owner.json")]


def release_lock_argv(layout: Layout) -> list[str]:
    """Remove the lock."""
    return ["rm", "-rf", layout.lock]


def image_id_argv(ref: str) -> list[str]:
    """The id of an image on the VM (exit 1 when it is not there)."""
    return ["docker", "image", "inspect", "--format", "{{.Id}}", ref]


def image_ids_argv(refs: Sequence[str]) -> list[str]:
    """Each ref's image id on the VM in one command: a `REF ID` line per ref, in order, with
    an empty ID for a ref the VM does not have."""
    script = (
        'for ref; do printf "%s %s\\n" "$ref" '
        '"$(docker image inspect --format "{{.Id}}" "$ref" 2>/dev/null)"; done'
    )
    return sh(script, *refs)


def docker_save_argv(refs: Sequence[str]) -> list[str]:
    """`docker save` of images here (a tar stream on stdout)."""
    return ["docker", "save", *refs]


def docker_load_argv() -> list[str]:
    """`docker load` on the VM, reading the stream on stdin."""
    return ["docker", "load", "--quiet"]


def unpack_bundle_argv(layout: Layout, release: str) -> list[str]:
    """Unpack the bundle (tar on stdin) into releases/.tmp-ID (0700), then rename it."""
    return sh(
        'set -e; rm -rf "$1"; mkdir -m 0700 "$1"; tar -x -f - -C "$1"; mv -T "$1" "$2"',
        layout.upload(release),
        layout.release(release),
    )


def containers_argv(project: str, service: str, *, running_only: bool = False) -> list[str]:
    """Names of a compose service's containers on the VM (only running ones if asked)."""
    argv = ["docker", "ps"] + ([] if running_only else ["--all"])
    argv += ["--filter", f"label=com.docker.compose.project={project}"]
    argv += ["--filter", f"label=com.docker.compose.service={service}"]
    if running_only:
        argv += ["--filter", "status=running"]
    return [*argv, "--format", "{{.Names}}"]


def healthy_services_argv(project: str) -> list[str]:
    """`SERVICE CONTAINER` for each running container of the project whose health check
    passes, one a line."""
    return [
        "docker",
        "ps",
        "--filter",
        f"label=com.docker.compose.project={project}",
        "--filter",
        "health=healthy",
        "--format",
        '{{.Label "com.docker.compose.service"}} {{.Names}}',
    ]


def _up_argv(project: ComposeProject, services: Sequence[str], *options: str) -> list[str]:
    """`docker compose up` that starts what is missing and never recreates or builds."""
    fixed = ["up", "--detach", "--no-deps", "--no-recreate", "--no-build"]
    return [*project.base(), *fixed, *options, *services]


def start_data_argv(project: ComposeProject, wait_timeout: int) -> list[str]:
    """Start the database and object store if they are not running (never recreated)."""
    return _up_argv(project, DATA_SERVICES, "--wait", "--wait-timeout", str(wait_timeout))


def start_app_argv(project: ComposeProject, count: int) -> list[str]:
    """One more app container of the release's image beside those running (none recreated)."""
    return _up_argv(project, [APP_SERVICE], "--scale", f"{APP_SERVICE}={count}")


def start_edge_argv(project: ComposeProject, wait_timeout: int) -> list[str]:
    """Start nginx if it is not running (first deploy); never recreated."""
    return _up_argv(project, [EDGE_SERVICE], "--wait", "--wait-timeout", str(wait_timeout))


def gate_probe_argv(container: str) -> list[str]:
    """One round of the health gate: the container's state on stdout (STATE_FORMAT), then
    its /health and /ready probed from inside it (exit 0 when both answer)."""
    return sh(
        'docker inspect --format "$2" "$1" && docker exec "$1" python -c "$3"',
        container,
        STATE_FORMAT,
        GATE_PROBE,
    )


def logs_argv(container: str, lines: int = 30) -> list[str]:
    """The last lines a container logged."""
    return ["docker", "logs", "--tail", str(lines), container]


def stop_argv(container: str, grace: int = 30) -> list[str]:
    """Stop a container gracefully (SIGTERM, then `grace` seconds) and remove it."""
    return sh(
        'docker stop --time "$2" "$1" >/dev/null && docker rm "$1" >/dev/null',
        container,
        str(grace),
    )


def nginx_config_argv(layout: Layout, release: str, upstream: str) -> list[str]:
    """Install a release's nginx config into shared/nginx with `upstream` as upstream.conf;
    prints `unchanged` when the live config is that already (nothing is written), else
    `changed` (nginx needs a reload).

    Files are rewritten in place (nginx mounts the directory and nginx.conf by inode).
    """
    return sh(
        'set -e; src="$1/nginx"; dst="$2"; new="$(mktemp -d)"; trap \'rm -rf "$new"\' EXIT; '
        'mkdir "$new/conf.d"; cp "$src/nginx.conf" "$new/"; '
        'cp "$src"/conf.d/*.conf "$new/conf.d/"; '
        'printf "%s" "$3" > "$new/conf.d/upstream.conf"; '
        'if diff -r -q "$new" "$dst" >/dev/null 2>&1; then echo unchanged; exit 0; fi; '
        'cat "$new/nginx.conf" > "$dst/nginx.conf"; '
        'rm -f "$dst"/conf.d/*.conf; cp "$new"/conf.d/*.conf "$dst/conf.d/"; '
        'chmod -R go+rX "$dst"; echo changed',
        layout.release(release),
        layout.nginx,
        upstream,
    )


def point_socket_argv(container: str) -> list[str]:
    """In `container`: point LIVE_SOCKET at its own socket (symlink to a temporary name,
    then rename: atomic); fails when gunicorn does not listen there."""
    script = (
        'set -e; name="$(cat /etc/hostname).sock"; '
        '[ -S "$1/$name" ] || '
        '{ echo "$1/$name: no socket (is APP_SOCKET_DIR set?)" >&2; exit 1; }; '
        'ln -sfn "$name" "$1/$2.tmp"; mv -T "$1/$2.tmp" "$1/$2"'
    )
    return ["docker", "exec", container, "sh", "-c", script, "sh", SOCKET_DIR, LIVE_SOCKET]


def edge_mounts_argv(project: str) -> list[str]:
    """The mount points of the project's running nginx container(s), one line each (no
    line before nginx first runs)."""
    script = (
        'for c in $(docker ps --quiet --filter "label=com.docker.compose.project=$1" '
        '--filter "label=com.docker.compose.service=$2"); do '
        'docker inspect --format "{{range .Mounts}}{{.Destination}} {{end}}" "$c"; done'
    )
    return sh(script, project, EDGE_SERVICE)


def hostnames_argv(containers: Sequence[str]) -> list[str]:
    """`/NAME HOSTNAME` for each container (the hostname names its socket)."""
    return ["docker", "inspect", "--format", "{{.Name}} {{.Config.Hostname}}", *containers]


def live_socket_argv(container: str) -> list[str]:
    """What LIVE_SOCKET points at (`<hostname>.sock`), read in any app container."""
    return ["docker", "exec", container, "readlink", posixpath.join(SOCKET_DIR, LIVE_SOCKET)]


def socket_connections_argv(container: str) -> list[str]:
    """How many connections `container` has open on its socket (requests in flight or
    queued); 0 when it has no socket."""
    script = 'awk -v path="$1/$(cat /etc/hostname).sock" "$2" /proc/net/unix | wc -l'
    return ["docker", "exec", container, "sh", "-c", script, "sh", SOCKET_DIR, SOCKET_CONNECTIONS]


def nginx_test_argv(container: str) -> list[str]:
    """`nginx -t` in the running nginx container."""
    return ["docker", "exec", container, "nginx", "-t", "-q"]


def nginx_reload_argv(container: str) -> list[str]:
    """Graceful reload, printing the pids of the workers it replaces: they finish their
    requests with the old upstream, then exit (what the drain waits for)."""
    return ["docker", "exec", container, "sh", "-c", f"{NGINX_WORKERS}; nginx -s reload"]


def nginx_workers_alive_argv(container: str, pids: Sequence[str]) -> list[str]:
    """Which of the nginx worker `pids` still run (old workers still finishing requests)."""
    script = 'for p in "$@"; do [ -d "/proc/$p" ] && echo "$p"; done; true'
    return ["docker", "exec", container, "sh", "-c", script, "sh", *pids]


def stop_edge_argv(project: ComposeProject) -> list[str]:
    """Stop nginx (a failed first deploy: nothing is left serving)."""
    return [*project.base(), "stop", EDGE_SERVICE]


def switch_current_argv(layout: Layout, release: str) -> list[str]:
    """Point `current` at a release atomically (symlink to a temporary name, then rename)."""
    return sh(
        'ln -sfn "$1" "$2.tmp" && mv -T "$2.tmp" "$2"',
        posixpath.join("releases", release),
        layout.current,
    )


DEPLOYED_MARK = ".deployed"
"""Touched in a release directory once `current` pointed at it: a finished release."""


def mark_deployed_argv(layout: Layout, release: str) -> list[str]:
    """Mark a release as finished (it became `current` once)."""
    return ["touch", posixpath.join(layout.release(release), DEPLOYED_MARK)]


def deployed_releases_argv(layout: Layout) -> list[str]:
    """The names of the finished releases, one a line."""
    return sh(
        'cd "$1" && for d in *; do [ -e "$d/$2" ] && echo "$d"; done; true',
        layout.releases,
        DEPLOYED_MARK,
    )


def remove_uploads_argv(layout: Layout) -> list[str]:
    """Remove bundles a dead deploy left half-unpacked (releases/.tmp-*)."""
    return sh('rm -rf "$1"/.tmp-*', layout.releases)


def app_releases_argv(project: str) -> list[str]:
    """Running app containers with the compose files they came from: `NAME FILES` a line."""
    argv = containers_argv(project, APP_SERVICE, running_only=True)
    return [*argv[:-1], '{{.Names}} {{.Label "com.docker.compose.project.config_files"}}']


def parse_app_releases(output: str, layout: Layout) -> dict[str, str | None]:
    """Container name -> the release its compose files belong to (None: not a release's)."""
    found: dict[str, str | None] = {}
    prefix = layout.releases + "/"
    for line in output.splitlines():
        name, _, files = line.strip().partition(" ")
        if not name:
            continue
        first = files.split(",")[0]
        release = first[len(prefix) :].split("/")[0] if first.startswith(prefix) else None
        found[name] = release if release and is_release_id(release) else None
    return found


def install_env_argv(layout: Layout, release: str) -> list[str]:
    """shared/.env (mode 0600) := the env file of the release now in force."""
    return [
        "install",
        "-m",
        "0600",
        posixpath.join(layout.release(release), ".env"),
        posixpath.join(layout.shared, ".env"),
    ]


def remove_release_argv(layout: Layout, release: str) -> list[str]:
    """Remove one release directory (and a leftover upload of it)."""
    return ["rm", "-rf", layout.release(release), layout.upload(release)]


def remove_images_argv(refs: Sequence[str]) -> list[str]:
    """Remove images no kept release uses (an image still in use is kept by Docker)."""
    return sh('for ref in "$@"; do docker image rm "$ref" >/dev/null 2>&1 || true; done', *refs)


def append_audit_argv(layout: Layout, record: Mapping[str, object]) -> list[str]:
    """Append one JSON line to audit.log."""
    line = json.dumps(dict(record), sort_keys=True)
    return sh('printf "%s\\n" "$1" >> "$2"', line, layout.audit_log)


def releases_to_prune(names: Sequence[str], current: str | None, keep: int) -> list[str]:
    """Releases beyond the newest `keep` (never the current one), oldest first."""
    releases = sorted(name for name in names if is_release_id(name))
    kept = set(releases[-keep:]) | ({current} if current else set())
    return [name for name in releases if name not in kept]


# -- the plan shown by --dry-run and the production confirmation -----------------------------


@dataclass(frozen=True)
class DeployPlan:
    """What a deploy will do, step by step, in the order docs/architecture.md gives."""

    env: str
    host: str
    release: str
    app_image: str
    layout: Layout
    ship_images: tuple[str, ...]
    backup: bool = False
    """Whether a pre-deploy backup is taken (step 4)."""
    monitoring: bool = False
    """Whether the monitoring profile is shipped and started with the release."""

    def steps(self) -> list[str]:
        """One line per step."""
        backup = (
            ["pre-deploy backup of the serving release's database and bucket (BACKUP_S3_*)"]
            if self.backup
            else []
        )
        monitoring = (
            ["start the monitoring profile from the release (MONITORING; failure only warns)"]
            if self.monitoring
            else []
        )
        return [
            f"preflight: env file, image {self.app_image}, ssh {self.host}, docker, disk, lock",
            f"ship images when the VM lacks them: {', '.join(self.ship_images)}",
            f"upload the release bundle to {self.layout.release(self.release)}",
            *backup,
            "migrations: alembic upgrade head in a one-off container of the new image "
            "(skipped when the database is at the image's head)",
            "switch: new app container beside the old, /health + /ready gate, nginx reload, "
            "drain the old nginx workers, stop the old app",
            "smoke checks through the public URL (failure: traffic back to the old release)",
            f"point {self.layout.current} at {self.release}, prune, audit line, release lock",
            *monitoring,
        ]
