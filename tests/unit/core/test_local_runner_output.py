"""Where a streamed command's output goes: progress must never reach a `--json` stdout."""

from shipyard.remote import LocalRunner


def test_streamed_output_goes_to_our_stdout_by_default(capfd):
    result = LocalRunner().run(["sh", "-c", "echo out; echo err >&2"], capture=False)
    out, err = capfd.readouterr()
    assert result.ok
    assert (out, err) == ("out\n", "err\n")


def test_progress_output_is_moved_to_stderr(capfd):
    result = LocalRunner().run(
        ["sh", "-c", "echo progress; echo err >&2"], capture=False, stdout_to_stderr=True
    )
    out, err = capfd.readouterr()
    assert result.ok
    assert out == ""
    assert "progress\n" in err and "err\n" in err


def test_captured_output_is_returned_not_printed(capfd):
    result = LocalRunner().run(["sh", "-c", "echo out; echo err >&2"], stdout_to_stderr=True)
    assert (result.stdout, result.stderr) == ("out\n", "err\n")
    assert capfd.readouterr() == ("", "")
