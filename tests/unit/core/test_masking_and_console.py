"""Secrets registered once are masked on every output path; errors exit with their code."""

import json
import logging

import pytest
from invoke.exceptions import Exit

from shipyard import console, masking
from shipyard.errors import ConfigError, RefusedError

SECRET = "s3cr3t-Value-That-Must-Not-Leak"


@pytest.fixture(autouse=True)
def registered():
    masking.forget_all()
    masking.register(SECRET, None, "ab")
    yield
    masking.forget_all()


def test_mask_replaces_every_occurrence_longest_first():
    masking.register(SECRET + "-longer")
    text = f"a={SECRET}-longer b={SECRET}"
    assert masking.mask(text) == "a=******** b=********"


def test_too_short_values_are_not_registered():
    assert masking.mask("ab cd") == "ab cd"


def test_mask_data_walks_structures():
    data = {"k": [SECRET, {"n": 1, SECRET: "x"}]}
    assert masking.mask_data(data) == {"k": ["********", {"n": 1, "********": "x"}]}


def test_logging_filter_masks_formatted_messages(caplog):
    logger = logging.getLogger("shipyard.test")
    logger.addFilter(masking.MaskingFilter())
    with caplog.at_level(logging.INFO, logger="shipyard.test"):
        logger.info("password is %s", SECRET)
    assert SECRET not in caplog.text
    assert "password is ********" in caplog.text


def test_console_output_and_json_are_masked(capsys):
    console.say(f"value {SECRET}")
    console.error(f"bad {SECRET}")
    console.emit_json({"secret": SECRET})
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert json.loads(out[out.index("{") :]) == {"secret": "********"}


def test_exits_cleanly_turns_errors_into_one_line_and_exit_code(capsys):
    @console.exits_cleanly
    def bad_input():
        raise ConfigError(f"bad value {SECRET}", hint="fix it")

    @console.exits_cleanly
    def refused():
        raise RefusedError("lock held")

    with pytest.raises(Exit) as caught:
        bad_input()
    assert caught.value.code == 2
    with pytest.raises(Exit) as caught:
        refused()
    assert caught.value.code == 3
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "error: bad value ******** (fix it)" in err
