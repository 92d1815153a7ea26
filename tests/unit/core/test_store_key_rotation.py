"""The object store's side of `inv secrets.rotate`: the commands and their standard input
(keys never on a command line), how the store's answers are judged (MinIO refused with the
manual steps), the VM's key-file rewrite, and the env file written back."""

from __future__ import annotations

import subprocess

import pytest

from shipyard.envfile.load import interpolate, parse_env_text
from shipyard.errors import CommandFailedError, ConfigError, RefusedError
from shipyard.rotation import storekeys, storerotate

OLD_ACCESS, OLD_SECRET = "OLDACCESSKEY00000001", "old-secret-key-with-32-characters-xx"
NEW_ACCESS, NEW_SECRET = "NEWACCESSKEY00000002", "new-secret-key-with-32-characters-yy"


def test_only_the_in_stack_store_is_rotated_here():
    storekeys.require_in_stack("objectstore:9000")
    with pytest.raises(ConfigError, match="not the in-stack object store") as caught:
        storekeys.require_in_stack("s3.eu-west-1.amazonaws.com:443")
    assert "create a new key at the provider" in (caught.value.hint or "")


def test_keys_go_on_stdin_never_in_the_command():
    assert storekeys.keys_command("add") == ["objectstore-keys", "add"]
    assert storekeys.key_stdin(NEW_ACCESS, NEW_SECRET) == f"{NEW_ACCESS}\n{NEW_SECRET}\n".encode()
    assert storekeys.key_stdin(OLD_ACCESS) == f"{OLD_ACCESS}\n".encode()
    with pytest.raises(ValueError, match="unknown"):
        storekeys.keys_command("list")


def test_a_store_without_objectstore_keys_is_refused_with_the_minio_steps():
    missing = 'OCI runtime exec failed: exec: "objectstore-keys": executable file not found'
    with pytest.raises(RefusedError, match="cannot accept a second key") as caught:
        storekeys.judge_check(126, "", missing)
    assert "mc admin user svcacct add" in (caught.value.hint or "")
    assert caught.value.exit_code == 3
    with pytest.raises(RefusedError):
        storekeys.judge_change("add", 127, "")


def test_a_key_the_store_does_not_take_changes_nothing_and_says_so():
    storekeys.judge_check(0, "the key is accepted\n", "")
    with pytest.raises(ConfigError, match="does not accept S3_ACCESS_KEY / S3_SECRET_KEY"):
        storekeys.judge_check(1, "the key is refused\n", "")
    with pytest.raises(CommandFailedError, match="check failed: the S3 API does not answer"):
        storekeys.judge_check(1, "the S3 API does not answer\n", "")
    storekeys.judge_change("remove", 0, "")
    with pytest.raises(CommandFailedError, match=r"add failed: .*does not accept the key"):
        storekeys.judge_change("add", 1, "objectstore-keys add: the S3 API does not accept the key")


def test_the_vm_key_files_are_rewritten_from_stdin_as_the_stores_user(tmp_path):
    argv = storekeys.store_files_argv("sha256:abc", "/srv/docstore/shared/secrets/objectstore")
    assert argv[:6] == ["docker", "run", "--rm", "--network", "none", "--interactive"]
    assert "/srv/docstore/shared/secrets/objectstore:/keys" in argv
    assert argv[argv.index("--user") + 1] == "0:0"
    assert not any(NEW_SECRET in arg for arg in argv)
    # The script itself, run by a real shell against a real directory (no chown as non-root).
    script = argv[-1].replace("chown 1000:1000", ": chown").replace("cd /keys", f"cd {tmp_path}")
    old = tmp_path / "s3_secret_key"
    old.write_text("old")
    subprocess.run(
        ["sh", "-c", script], input=storekeys.key_stdin(NEW_ACCESS, NEW_SECRET), check=True
    )
    assert (tmp_path / "s3_access_key").read_text() == NEW_ACCESS
    assert old.read_text() == NEW_SECRET
    assert oct(old.stat().st_mode & 0o777) == "0o400"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s3_access_key", "s3_secret_key"]


def test_the_pair_is_written_together_and_every_other_line_kept():
    text = f"# store\nS3_ACCESS_KEY={OLD_ACCESS}\nS3_SECRET_KEY={OLD_SECRET}\nS3_BUCKET=docs\n"
    written = storerotate.with_key(text, NEW_ACCESS, "has $ and space")
    values = interpolate(parse_env_text(written).entries)
    assert values["S3_ACCESS_KEY"] == NEW_ACCESS
    assert values["S3_SECRET_KEY"] == "has $ and space"
    assert written.startswith("# store\n") and written.endswith("S3_BUCKET=docs\n")


def test_the_plan_says_new_key_beside_the_old_before_the_app_moves():
    lines = storerotate.plan_lines("sandbox", ".env.sandbox", is_local=False)
    assert lines[0] == "Rotate the object store key (S3_ACCESS_KEY and S3_SECRET_KEY) of sandbox:"
    steps = "\n".join(lines)
    assert steps.index("beside the old") < steps.index("roll the app") < steps.index("refuses")
    assert "shared/secrets" in steps and "zero-downtime deploy" in steps
    local = "\n".join(storerotate.plan_lines("local", ".env", is_local=True))
    assert "the local stack recreated from the new secret files" in local


class RecordingStore(storekeys.ObjectStore):
    """An object store that keeps its keys in a set and records each step; `fail_at`
    makes that step raise as the real one would."""

    def __init__(self, fail_at: str = "", restores: bool = True) -> None:
        self.keys = {OLD_ACCESS}
        self.steps: list[str] = []
        self.files = OLD_ACCESS
        self.fail_at = fail_at
        self.restores_on_failure = restores

    def _step(self, name: str) -> None:
        self.steps.append(name)
        if name == self.fail_at:
            raise CommandFailedError(f"{name} failed")

    def check(self, access_key: str, secret_key: str) -> None:
        self._step("check")
        if access_key not in self.keys:
            raise ConfigError("not accepted")

    def add(self, access_key: str, secret_key: str) -> None:
        self._step("add")
        self.keys.add(access_key)

    def remove(self, access_key: str) -> None:
        self._step(f"remove {'old' if access_key == OLD_ACCESS else 'new'}")
        self.keys.discard(access_key)

    def save_key_files(self, access_key: str, secret_key: str) -> None:
        self._step(f"files {'old' if access_key == OLD_ACCESS else 'new'}")
        self.files = access_key

    def roll_app(self) -> str | None:
        self._step("roll")
        return "20261203T120000Z-1.0.0"


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / ".env.sandbox"
    path.write_text(f"S3_ACCESS_KEY={OLD_ACCESS}\nS3_SECRET_KEY={OLD_SECRET}\nA=1\n")
    path.chmod(0o600)
    return path


def test_the_new_key_is_accepted_before_the_app_uses_it_and_the_old_removed_last(env_file):
    store = RecordingStore()
    text = env_file.read_text()
    values = {"S3_ACCESS_KEY": OLD_ACCESS, "S3_SECRET_KEY": OLD_SECRET}
    assert storerotate.rotate_with(store, env_file, text, values) == "20261203T120000Z-1.0.0"
    assert store.steps == ["check", "add", "files new", "roll", "remove old"]
    new = interpolate(parse_env_text(env_file.read_text()).entries)
    assert store.keys == {new["S3_ACCESS_KEY"]} and store.files == new["S3_ACCESS_KEY"]
    assert new["S3_SECRET_KEY"] not in (OLD_SECRET, "") and new["A"] == "1"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"


def test_a_failed_roll_on_a_vm_puts_everything_back_and_the_old_key_still_works(env_file):
    store = RecordingStore(fail_at="roll")
    text = env_file.read_text()
    values = {"S3_ACCESS_KEY": OLD_ACCESS, "S3_SECRET_KEY": OLD_SECRET}
    with pytest.raises(CommandFailedError, match="roll failed"):
        storerotate.rotate_with(store, env_file, text, values)
    assert store.steps == ["check", "add", "files new", "roll", "files old", "remove new"]
    assert env_file.read_text() == text
    assert store.keys == {OLD_ACCESS} and store.files == OLD_ACCESS


def test_a_key_the_store_refuses_changes_nothing(env_file):
    store = RecordingStore()
    store.keys = {"SOMEONEELSESKEY00001"}
    text = env_file.read_text()
    values = {"S3_ACCESS_KEY": OLD_ACCESS, "S3_SECRET_KEY": OLD_SECRET}
    with pytest.raises(ConfigError):
        storerotate.rotate_with(store, env_file, text, values)
    assert store.steps == ["check"] and env_file.read_text() == text


def test_a_failed_removal_says_the_app_runs_on_the_new_key(env_file, capsys):
    store = RecordingStore(fail_at="remove old")
    text = env_file.read_text()
    values = {"S3_ACCESS_KEY": OLD_ACCESS, "S3_SECRET_KEY": OLD_SECRET}
    with pytest.raises(CommandFailedError, match="the app runs on the new key, but") as caught:
        storerotate.rotate_with(store, env_file, text, values)
    assert "next restarts" in (caught.value.hint or "")
    assert env_file.read_text() != text  # the app runs on the new key: it stays
    local = RecordingStore(fail_at="roll", restores=False)
    with pytest.raises(CommandFailedError):
        storerotate.rotate_with(local, env_file, env_file.read_text(), values)
    assert "run `inv up` once the cause is fixed" in capsys.readouterr().err
