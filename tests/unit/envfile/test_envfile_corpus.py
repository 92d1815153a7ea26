"""The corpus: malformed or unsafe env files, each with the exact checks, lines and exit code
it must produce. The expectations are in each file's header:

    # <what is wrong>
    # env: <environment to check against>
    # expect: <check-id>@<line> ...      (`@-` for a finding about the whole file)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.unit.envfile.support import CORPUS, Runner, secret_values

CASES = sorted(CORPUS.glob("*.env"))


def header(path: Path) -> tuple[str, list[str]]:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    env = re.fullmatch(r"# env: (\w+)", lines[1])
    expect = re.fullmatch(r"# expect: (.+)", lines[2])
    assert env and expect, f"{path.name}: header lines 2 and 3 must be `# env:` and `# expect:`"
    return env[1], sorted(expect[1].split())


def test_the_corpus_has_at_least_40_files():
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=lambda path: path.stem)
def test_corpus_file(path: Path, inv: Runner, monkeypatch: pytest.MonkeyPatch):
    env, expected = header(path)
    # The shell's variables must not make a file valid: it is judged alone.
    monkeypatch.setenv("CERT_DIR", "/etc/ssl/certs")
    monkeypatch.setenv("POSTGRES_DB", "docstore")

    result = inv("env.check", "--env", env, "--file", str(path), "--json")
    assert result.code == 2
    document = json.loads(result.out)
    found = sorted(
        f"{item['check']}@{'-' if item['line'] is None else item['line']}"
        for item in document["findings"]
    )
    assert found == expected
    assert document["ok"] is False

    text = inv("env.check", "--env", env, "--file", str(path))
    assert text.code == 2
    lines = text.out.splitlines()
    assert len(lines) == len(expected)
    for line in lines:
        assert re.match(rf"{re.escape(str(path))}(:\d+)?: [a-z0-9-]+: .+ \(fix: .+\)$", line), line
    assert len(text.err.splitlines()) == 1
    assert text.err.startswith(f"error: {path}: {len(expected)} problem")

    for secret in secret_values(path):
        for output in (result.out, result.err, text.out, text.err):
            assert secret not in output
