"""The deploy plan: layout, release ids, and every command a deploy runs on the VM."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath

from shipyard.deploy import plan
from shipyard.vm import layout

LAYOUT = layout.Layout("/srv/docstore")
PROJECT = layout.release_project(
    LAYOUT, "20261122T173000Z-0.2.0", "docstore", ["compose.yaml", "compose.production.yaml"], []
)
BASE = [
    "docker",
    "compose",
    "--project-name",
    "docstore",
    "--env-file",
    "/srv/docstore/releases/20261122T173000Z-0.2.0/.env",
    "--file",
    "/srv/docstore/releases/20261122T173000Z-0.2.0/compose/compose.yaml",
    "--file",
    "/srv/docstore/releases/20261122T173000Z-0.2.0/compose/compose.production.yaml",
]


def test_layout_follows_design() -> None:
    assert LAYOUT.releases == "/srv/docstore/releases"
    assert LAYOUT.current == "/srv/docstore/current"
    assert LAYOUT.nginx == "/srv/docstore/shared/nginx"
    assert LAYOUT.lock == "/srv/docstore/deploy.lock"
    assert LAYOUT.audit_log == "/srv/docstore/audit.log"
    assert LAYOUT.upload("r1") == "/srv/docstore/releases/.tmp-r1"


def test_release_ids_sort_by_time_and_name_the_version() -> None:
    when = datetime(2026, 11, 22, 17, 30, 0, tzinfo=UTC)
    assert layout.release_id(when, "0.2.0-abc/def") == "20261122T173000Z-0.2.0-abc_def"
    assert layout.is_release_id("20261122T173000Z-0.2.0")
    assert not layout.is_release_id(".tmp-20261122T173000Z-0.2.0")


def test_release_project_uses_the_release_files_and_env() -> None:
    assert PROJECT.base() == BASE
    assert PROJECT.env_file == PurePosixPath("/srv/docstore/releases/20261122T173000Z-0.2.0/.env")


def test_the_release_env_appends_what_shipyard_sets() -> None:
    variables = plan.deploy_variables({"NGINX_IMAGE": "n:1", "APP_IMAGE": "a:2"}, LAYOUT)
    assert plan.release_env_text("A=1\n", variables) == (
        "A=1\n\n# --- set by `inv deploy` ---\nAPP_IMAGE=a:2\nNGINX_IMAGE=n:1\n"
        "SHIPYARD_NGINX_DIR=/srv/docstore/shared/nginx\n"
        "SHIPYARD_CERTS_DIR=/srv/docstore/shared/certs\n"
    )


def test_new_app_container_starts_beside_the_old_one() -> None:
    assert plan.start_app_argv(PROJECT, 2) == [
        *BASE,
        "up",
        "--detach",
        "--no-deps",
        "--no-recreate",
        "--no-build",
        "--scale",
        "app=2",
        "app",
    ]


def test_data_services_and_nginx_are_started_never_recreated() -> None:
    tail = ["up", "--detach", "--no-deps", "--no-recreate", "--no-build", "--wait"]
    assert plan.start_data_argv(PROJECT, 180) == [
        *BASE,
        *tail,
        "--wait-timeout",
        "180",
        "db",
        "objectstore",
    ]
    assert plan.start_edge_argv(PROJECT, 60) == [*BASE, *tail, "--wait-timeout", "60", "nginx"]


def test_nginx_switch_commands() -> None:
    assert plan.nginx_test_argv("n1") == ["docker", "exec", "n1", "nginx", "-t", "-q"]
    assert plan.nginx_reload_argv("n1") == [
        "docker",
        "exec",
        "n1",
        "sh",
        "-c",
        f"{plan.NGINX_WORKERS}; nginx -s reload",
    ]
    assert plan.nginx_workers_alive_argv("n1", ["31", "32"]) == [
        "docker",
        "exec",
        "n1",
        "sh",
        "-c",
        'for p in "$@"; do [ -d "/proc/$p" ] && echo "$p"; done; true',
        "sh",
        "31",
        "32",
    ]
    assert plan.healthy_services_argv("docstore") == [
        "docker",
        "ps",
        "--filter",
        "label=com.docker.compose.project=docstore",
        "--filter",
        "health=healthy",
        "--format",
        '{{.Label "com.docker.compose.service"}} {{.Names}}',
    ]
    argv = plan.nginx_config_argv(LAYOUT, "r2", plan.upstream_conf())
    assert argv[:2] == ["sh", "-c"]
    assert argv[3:] == [
        "sh",
        "/srv/docstore/releases/r2",
        "/srv/docstore/shared/nginx",
        plan.upstream_conf(),
    ]
    assert "    server unix:/run/app/live.sock;\n" in plan.upstream_conf()
    assert "keepalive" not in plan.upstream_conf(), "a cached connection would outlive a switch"


def test_traffic_moves_by_pointing_the_live_socket_inside_the_new_container() -> None:
    argv = plan.point_socket_argv("docstore-app-3")
    assert argv[:5] == ["docker", "exec", "docstore-app-3", "sh", "-c"]
    assert argv[6:] == ["sh", "/run/app", "live.sock"]
    assert '[ -S "$1/$name" ]' in argv[5]
    assert argv[5].endswith('ln -sfn "$name" "$1/$2.tmp"; mv -T "$1/$2.tmp" "$1/$2"')
    assert plan.live_socket_argv("docstore-app-2") == [
        "docker",
        "exec",
        "docstore-app-2",
        "readlink",
        "/run/app/live.sock",
    ]
    assert plan.hostnames_argv(["a", "b"]) == [
        "docker",
        "inspect",
        "--format",
        "{{.Name}} {{.Config.Hostname}}",
        "a",
        "b",
    ]
    mounts = plan.edge_mounts_argv("docstore")
    assert mounts[:2] == ["sh", "-c"] and mounts[3:] == ["sh", "docstore", "nginx"]
    assert 'docker inspect --format "{{range .Mounts}}{{.Destination}} {{end}}"' in mounts[2]
    counting = plan.socket_connections_argv("docstore-app-2")
    assert counting[:5] == ["docker", "exec", "docstore-app-2", "sh", "-c"]
    assert counting[6:] == ["sh", "/run/app", '$NF == path && $4 != "00010000"']


def test_bundle_is_unpacked_beside_then_renamed() -> None:
    argv = plan.unpack_bundle_argv(LAYOUT, "r1")
    assert argv[2] == (
        'set -e; rm -rf "$1"; mkdir -m 0700 "$1"; tar -x -f - -C "$1"; mv -T "$1" "$2"'
    )
    assert argv[3:] == ["sh", "/srv/docstore/releases/.tmp-r1", "/srv/docstore/releases/r1"]


def test_current_is_switched_atomically() -> None:
    assert plan.switch_current_argv(LAYOUT, "r1") == [
        "sh",
        "-c",
        'ln -sfn "$1" "$2.tmp" && mv -T "$2.tmp" "$2"',
        "sh",
        "releases/r1",
        "/srv/docstore/current",
    ]


def test_other_commands() -> None:
    assert plan.image_id_argv("a:1") == ["docker", "image", "inspect", "--format", "{{.Id}}", "a:1"]
    assert plan.image_ids_argv(["a:1", "b:2"])[3:] == ["sh", "a:1", "b:2"]
    assert 'docker image inspect --format "{{.Id}}" "$ref"' in plan.image_ids_argv(["a:1"])[2]
    assert plan.docker_load_argv() == ["docker", "load", "--quiet"]
    assert plan.docker_save_argv(["a:1", "b:2"]) == ["docker", "save", "a:1", "b:2"]
    assert plan.gate_probe_argv("c1") == [
        "sh",
        "-c",
        'docker inspect --format "$2" "$1" && docker exec "$1" python -c "$3"',
        "sh",
        "c1",
        plan.STATE_FORMAT,
        plan.GATE_PROBE,
    ]
    assert plan.disk_free_argv(LAYOUT) == ["df", "-Pk", "/srv"]
    assert plan.containers_argv("docstore", "nginx", running_only=True) == [
        "docker",
        "ps",
        "--filter",
        "label=com.docker.compose.project=docstore",
        "--filter",
        "label=com.docker.compose.service=nginx",
        "--filter",
        "status=running",
        "--format",
        "{{.Names}}",
    ]
    assert plan.install_env_argv(LAYOUT, "r1") == [
        "install",
        "-m",
        "0600",
        "/srv/docstore/releases/r1/.env",
        "/srv/docstore/shared/.env",
    ]
    assert plan.append_audit_argv(LAYOUT, {"b": 1, "a": "x"})[3:] == [
        "sh",
        '{"a": "x", "b": 1}',
        "/srv/docstore/audit.log",
    ]


def test_df_available_column() -> None:
    output = "Filesystem 1024-blocks Used Available Capacity Mounted on\noverlay 1000 10 990 2% /\n"
    assert plan.parse_df_kib(output) == 990


def test_prune_keeps_the_newest_and_the_current() -> None:
    names = [f"2026010{day}T000000Z-0.1.{day}" for day in range(1, 8)] + [".tmp-x", "junk"]
    assert plan.releases_to_prune(names, None, 5) == names[:2]
    assert plan.releases_to_prune(names, names[0], 5) == [names[1]]
    assert plan.releases_to_prune(names[:3], names[2], 5) == []


def test_plan_steps_follow_the_design_order() -> None:
    steps = plan.DeployPlan("sandbox", "deploy@h:22", "r1", "a:1", LAYOUT, ("a:1",)).steps()
    assert [step.split(":")[0].split(" ")[0] for step in steps] == [
        "preflight",
        "ship",
        "upload",
        "migrations",
        "switch",
        "smoke",
        "point",
    ]
    with_backup = plan.DeployPlan("p", "h", "r1", "a:1", LAYOUT, ("a:1",), backup=True).steps()
    assert with_backup[3].startswith("pre-deploy backup") and with_backup[4:] == steps[3:]


def test_lock_keeper_takes_the_lock_then_stays_as_its_holder() -> None:
    argv = plan.keeper_argv(LAYOUT, {"owner": "a@b", "version": "1"})
    assert argv == [
        "sh",
        "-c",
        plan.KEEPER_SCRIPT,
        "sh",
        "/srv/docstore/deploy.lock",
        "",
        '{"owner": "a@b", "version": "1"}',
    ]
    assert plan.keeper_argv(LAYOUT, {}, claim="12-345")[5] == "12-345"
    assert plan.holder_state_argv(LAYOUT) == [
        "sh",
        "-c",
        plan.HOLDER_STATE_SCRIPT,
        "sh",
        "/srv/docstore/deploy.lock",
    ]
    assert plan.release_lock_argv(LAYOUT) == ["rm", "-rf", "/srv/docstore/deploy.lock"]


def test_holder_state_is_parsed_conservatively() -> None:
    assert plan.parse_holder_state("alive 12-345\n") == ("alive", "12-345")
    assert plan.parse_holder_state("dead 12-345") == ("dead", "12-345")
    assert plan.parse_holder_state("unknown") == ("unknown", "")
    assert plan.parse_holder_state("") == ("unknown", "")
    assert plan.parse_holder_state("dead") == ("unknown", "")


def test_leftovers_are_found_from_labels_and_the_upstream() -> None:
    listing = (
        "docstore-app-3 /srv/docstore/releases/20261122T173000Z-0.2.0/compose/compose.yaml,"
        "/srv/docstore/releases/20261122T173000Z-0.2.0/compose/compose.production.yaml\n"
        "docstore-app-2 /srv/docstore/releases/20261122T170000Z-0.1.0/compose/compose.yaml\n"
        "stray /elsewhere/compose.yaml\n"
    )
    assert plan.parse_app_releases(listing, LAYOUT) == {
        "docstore-app-3": "20261122T173000Z-0.2.0",
        "docstore-app-2": "20261122T170000Z-0.1.0",
        "stray": None,
    }
    argv = plan.app_releases_argv("docstore")
    assert argv[-1] == '{{.Names}} {{.Label "com.docker.compose.project.config_files"}}'
    assert "status=running" in argv
    assert plan.mark_deployed_argv(LAYOUT, "r1") == [
        "touch",
        "/srv/docstore/releases/r1/.deployed",
    ]
    assert plan.remove_uploads_argv(LAYOUT)[-1] == "/srv/docstore/releases"
