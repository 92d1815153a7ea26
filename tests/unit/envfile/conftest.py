"""Env-file tests: fixed environments, and `inv env.*` run in-process and as a real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from invoke import Collection, Program

from shipyard import masking
from tests.unit.envfile.support import FIXTURES, INV, PUBLIC_URLS, ROOT, Result, Runner


@pytest.fixture(autouse=True)
def _clean_masking():
    masking.forget_all()
    yield
    masking.forget_all()


@pytest.fixture
def runtime_config(tmp_path: Path) -> Path:
    """An Invoke config file (`inv -f`) declaring the four environments, env files in tmp."""
    environments = {
        name: {
            "env_file": str(tmp_path / f".env.{name}"),
            "public_url": url,
            "compose_files": [str(FIXTURES / "compose.yaml")],
            "project": "shipyardtest",
        }
        for name, url in PUBLIC_URLS.items()
    }
    path = tmp_path / "shipyard-test.yaml"
    config = {"shipyard": {"app_name": "docstore", "environments": environments}}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def inv(capsys: pytest.CaptureFixture[str], runtime_config: Path) -> Runner:
    """Run `inv -f CONFIG env.*` in this process, through Invoke's own Program."""
    import tasks.env

    def run(*argv: str) -> Result:
        namespace = Collection()
        namespace.add_collection(Collection.from_module(tasks.env))
        program = Program(namespace=namespace, name="inv", binary="inv")
        capsys.readouterr()
        try:
            program.run(["inv", "-f", str(runtime_config), *argv])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture(scope="session")
def cli_prefix(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """`inv` with the repository's collection once it registers `env`, else a scratch one."""
    listing = subprocess.run(
        [str(INV), "--search-root", str(ROOT), "--list"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if "env.check" in listing.stdout:
        return [str(INV), "--search-root", str(ROOT)]
    scratch = tmp_path_factory.mktemp("collection")
    (scratch / "envtasks.py").write_text(
        "from invoke import Collection\n\nfrom tasks import env\n\nns = Collection(env)\n",
        encoding="utf-8",
    )
    return [str(INV), "--search-root", str(scratch), "--collection", "envtasks"]


@pytest.fixture
def cli(tmp_path: Path, runtime_config: Path, cli_prefix: list[str]) -> Runner:
    """Run the real `inv` executable in a subprocess: `cli("env.check", "--env", ...)`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}

    def run(*argv: str, unprivileged: bool = False) -> Result:
        command = [*cli_prefix, "-f", str(runtime_config), *argv]
        if unprivileged and os.geteuid() == 0:
            command = [*_drop_root_file_access(), *command]
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def _drop_root_file_access() -> list[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
