"""`inv status` / `inv ps --env VM`: the container listing and its parsing (pure)."""

from __future__ import annotations

from shipyard.deploy.status import ContainerStatus, parse_containers, project_containers_argv


def test_containers_of_the_project_with_health_and_uptime() -> None:
    assert project_containers_argv("docstore") == [
        "docker",
        "ps",
        "--all",
        "--filter",
        "label=com.docker.compose.project=docstore",
        "--format",
        '{{.Names}}\t{{.Label "com.docker.compose.service"}}\t{{.State}}\t{{.Status}}',
    ]
    output = (
        "docstore-nginx-1\tnginx\trunning\tUp 2 hours (healthy)\n"
        "docstore-app-3\tapp\trunning\tUp 5 minutes (health: starting)\n"
        "docstore-db-1\tdb\texited\tExited (0) 3 seconds ago\n"
        "garbage line\n"
    )
    assert parse_containers(output) == [
        ContainerStatus(
            "docstore-app-3",
            "app",
            "running",
            "health: starting",
            "Up 5 minutes (health: starting)",
        ),
        ContainerStatus("docstore-db-1", "db", "exited", "", "Exited (0) 3 seconds ago"),
        ContainerStatus("docstore-nginx-1", "nginx", "running", "healthy", "Up 2 hours (healthy)"),
    ]
