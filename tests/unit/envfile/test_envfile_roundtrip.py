"""Property tests: what Shipyard writes, python-dotenv reads back exactly, and lint accepts."""

from __future__ import annotations

import io

import pytest
from dotenv import dotenv_values
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shipyard.envfile.check import check_env_file
from shipyard.envfile.init import new_env_text
from shipyard.envfile.lint import lint
from shipyard.envfile.load import interpolate, parse_env_text, read_env_file
from shipyard.envfile.render import format_assignment, needs_quotes, render_file
from shipyard.envfile.schema import ENVIRONMENTS, VARIABLES
from tests.unit.envfile.support import PUBLIC_URLS, environment

KEYS = st.from_regex(r"[A-Z_][A-Z0-9_]{0,24}", fullmatch=True)
VALUES = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")),
        st.sampled_from(" \t\n$#'\"\\={}:-_/"),
    ),
    max_size=40,
)


def writable(key: str, value: str) -> str | None:
    try:
        return format_assignment(key, value)
    except ValueError:
        return None


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_written_files_parse_back_to_the_same_values(values: dict[str, str], newline: str):
    lines = [writable(key, value) for key, value in values.items()]
    assume(all(line is not None for line in lines))
    text = newline.join(["# written by the test", "", *lines]) + newline

    parsed = parse_env_text(text)
    assert interpolate(parsed.entries) == values
    assert dotenv_values(stream=io.StringIO(text), interpolate=False) == values
    findings = [f for f in lint(parsed, "test.env") if f.check != "unknown-key"]
    assert findings == []


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_quotes_are_used_exactly_when_needed(value: str):
    line = writable("KEY", value)
    assume(line is not None)
    assert (line[4:5] in ("'", '"')) == needs_quotes(value)


@settings(max_examples=100, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            variable.name: st.text(
                alphabet=st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=30
            )
            for variable in VARIABLES[:8]
        }
    )
)
def test_rendered_documented_files_round_trip(values: dict[str, str]):
    assume(all(writable(key, value) for key, value in values.items()))
    text = render_file("a header\nover two lines", values)
    assert interpolate(parse_env_text(text).entries) == values


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_new_files_round_trip_and_pass_every_check(env: str, tmp_path):
    path = tmp_path / f".env.{env}"
    path.write_text(new_env_text(env, public_url=PUBLIC_URLS[env]), encoding="utf-8")
    values = read_env_file(path)
    assert values["APP_ENV"] == env
    assert check_env_file(path, environment(env)) == []


def test_two_new_files_never_share_a_secret():
    first = parse_env_text(new_env_text("production", public_url=PUBLIC_URLS["production"]))
    second = parse_env_text(new_env_text("production", public_url=PUBLIC_URLS["production"]))
    secrets = {"POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"}
    one = {e.key: e.value for e in first.entries if e.key in secrets}
    two = {e.key: e.value for e in second.entries if e.key in secrets}
    assert one.keys() == two.keys() == secrets
    assert not set(one.values()) & set(two.values())
