"""Compose command lines are built exactly, with no secret on any of them."""

from pathlib import Path

from shipyard.compose import ComposeProject, project_for
from shipyard.config import PROJECT_ROOT, checkout_project, load_environment

PROJECT = ComposeProject(
    project="docstore",
    files=(Path("/r/compose/compose.yaml"), Path("/r/compose/compose.local.yaml")),
    env_file=Path("/r/.env"),
    profiles=("monitoring",),
)
BASE = [
    "docker", "compose", "--project-name", "docstore", "--env-file", "/r/.env",
    "--file", "/r/compose/compose.yaml", "--file", "/r/compose/compose.local.yaml",
    "--profile", "monitoring",
]  # fmt: skip


def test_base_names_project_env_file_files_and_profiles_in_order():
    assert PROJECT.base() == BASE


def test_up_waits_for_health_and_never_builds_unless_asked():
    assert PROJECT.up() == [
        *BASE, "up", "--detach", "--remove-orphans", "--no-build", "--wait", "--wait-timeout", "180"
    ]  # fmt: skip
    assert PROJECT.up(["db", "objectstore"], wait_timeout=60, build=True) == [
        *BASE, "up", "--detach", "--remove-orphans", "--wait", "--wait-timeout", "60",
        "db", "objectstore",
    ]  # fmt: skip
    assert PROJECT.up(wait=False)[-1] == "--no-build"


def test_one_off_container_has_no_tty_and_no_dependencies():
    assert PROJECT.run_once("app", ["alembic", "upgrade", "head"]) == [
        *BASE, "run", "--rm", "--no-deps", "-T", "app", "alembic", "upgrade", "head"
    ]  # fmt: skip


def test_down_keeps_volumes_unless_asked():
    assert PROJECT.down() == [*BASE, "down", "--remove-orphans"]
    assert PROJECT.down(volumes=True) == [*BASE, "down", "--remove-orphans", "--volumes"]


def test_logs_ps_config_exec():
    assert PROJECT.logs(["app"], follow=True, tail=50) == [
        *BASE, "logs", "--no-color", "--tail", "50", "--follow", "app"
    ]  # fmt: skip
    assert PROJECT.ps() == [*BASE, "ps", "--all", "--format", "json"]
    assert PROJECT.config(quiet=True) == [*BASE, "config", "--quiet"]
    assert PROJECT.exec("db", ["pg_isready"]) == [*BASE, "exec", "-T", "db", "pg_isready"]


def test_project_for_an_environment_uses_absolute_paths():
    project = project_for(load_environment("local"))
    assert project.project == checkout_project("docstore", PROJECT_ROOT)
    assert project.env_file == PROJECT_ROOT / ".env"
    assert all(file.is_absolute() and file.is_file() for file in project.files)


def test_the_local_stack_converges_with_the_profile_files_known_but_off():
    """`inv up --remove-orphans` must not take the monitoring profile's containers for
    orphans: its compose file is read, its profile stays off (nothing of it starts)."""
    from shipyard.images.app import BuildInfo
    from shipyard.stack import PROFILE_FILES, LocalStack

    env = load_environment("local")
    stack = LocalStack(env, "docstore", {}, BuildInfo("0.1.0", "abc", "now"))
    converge = stack.converge_project
    assert converge.files == (*project_for(env).files, *PROFILE_FILES)
    assert converge.profiles == project_for(env).profiles
    assert "monitoring" not in converge.profiles
    up = converge.up(["app"])
    assert "--remove-orphans" in up
    assert str(PROJECT_ROOT / "compose" / "compose.monitoring.yaml") in up
