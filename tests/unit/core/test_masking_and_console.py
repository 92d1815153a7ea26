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


class TestConfirm:
    """One confirmation primitive: --yes, or the expected answer typed on a terminal."""

    def test_yes_goes_on_without_asking(self):
        def never(_: str) -> str:
            raise AssertionError("asked despite --yes")

        console.confirm("Delete?", yes=True, refusal="it deletes", interactive=True, ask=never)

    def test_the_expected_answer_goes_on(self):
        questions: list[str] = []

        def answer(question: str) -> str:
            questions.append(question)
            return " production \n"

        console.confirm(
            "Replace production?",
            yes=False,
            refusal="a restore replaces data",
            expected="production",
            interactive=True,
            ask=answer,
        )
        assert questions == ["Replace production? Type `production` to go on: "]

    @pytest.mark.parametrize("typed", ["", "y", "YES ", "no"])
    def test_anything_else_is_refused(self, typed):
        with pytest.raises(RefusedError, match="it deletes: not confirmed; nothing was changed"):
            console.confirm(
                "Delete?", yes=False, refusal="it deletes", interactive=True, ask=lambda _: typed
            )

    def test_without_a_terminal_it_refuses_and_names_the_flag(self):
        with pytest.raises(RefusedError) as refused:
            console.confirm("Delete?", yes=False, refusal="it deletes", interactive=False)
        assert refused.value.exit_code == 3
        assert refused.value.one_line() == (
            "it deletes: not confirmed (no terminal to ask on) (pass --yes)"
        )
