"""Prerequisite probes name what is missing and the fix; `compose ps` output is parsed."""

from shipyard.errors import PrerequisiteError
from shipyard.prereqs import compose_version_ok, missing_prerequisites
from shipyard.remote import CommandResult
from shipyard.stack import ServiceState, parse_ps


class Machine:
    """Answers the probes as a machine in a given state would (the probes are what is tested)."""

    def __init__(self, *, cli=True, engine="ok", compose="2.40.3"):
        self.cli, self.engine, self.compose = cli, engine, compose

    def run(self, argv, **_):
        if not self.cli:
            raise PrerequisiteError(f"{argv[0]}: command not found")
        if argv[1] == "info":
            if self.engine == "ok":
                return CommandResult(tuple(argv), 0, "20.10.24\n")
            return CommandResult(tuple(argv), 1, "", self.engine)
        if argv[1] == "compose":
            if self.compose is None:
                return CommandResult(
                    tuple(argv), 1, "", "docker: 'compose' is not a docker command."
                )
            return CommandResult(tuple(argv), 0, self.compose + "\n")
        return CommandResult(tuple(argv), 0, "Docker version 28.2.2\n")


def test_a_ready_machine_misses_nothing():
    assert missing_prerequisites(Machine()) == []


def test_no_docker_cli_is_named_once_with_the_fix():
    assert missing_prerequisites(Machine(cli=False)) == [
        "Docker CLI: not installed; install Docker: ./scripts/bootstrap"
    ]


def test_a_stopped_engine_says_how_to_start_it():
    down = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
    [line] = missing_prerequisites(Machine(engine=down))
    assert line.startswith("Docker engine: Cannot connect to the Docker daemon")
    assert "service docker start" in line


def test_permission_denied_names_the_docker_group():
    [line] = missing_prerequisites(Machine(engine="permission denied while trying to connect"))
    assert "docker` group" in line


def test_compose_v1_or_old_v2_is_refused():
    [missing] = missing_prerequisites(Machine(compose=None))
    assert missing.startswith("Docker Compose v2: docker: 'compose' is not a docker command.")
    [old] = missing_prerequisites(Machine(compose="2.3.3"))
    assert "older than 2.20" in old


def test_compose_version_parsing():
    assert compose_version_ok("2.40.3")
    assert compose_version_ok("v2.20.0")
    assert not compose_version_ok("2.19.9")
    assert not compose_version_ok("1.29.2")
    assert not compose_version_ok("garbage")


def test_parse_ps_json_lines_sorted_by_service():
    output = (
        '{"Service":"nginx","State":"running","Health":"healthy","Ports":"127.0.0.1:8080->8080/tcp"}\n'
        '{"Service":"app","State":"running","Health":"starting","Ports":""}\n'
    )
    states = parse_ps(output)
    assert [state.service for state in states] == ["app", "nginx"]
    assert states[1] == ServiceState("nginx", "running", "healthy", "127.0.0.1:8080->8080/tcp")
    assert states[1].healthy and not states[0].healthy


def test_parse_ps_array_and_empty():
    assert parse_ps("") == []
    [state] = parse_ps('[{"Service":"db","State":"exited","Health":"","Ports":""}]')
    assert not state.healthy
