"""User code that tries to end the process (``sys.exit()``, a ``KeyboardInterrupt`` it raises
itself) ends neither archbench nor the sweep: at import it is one line and exit 2 naming the
file, in a run it is that run's recorded ``error`` naming the call and where, and a real
Ctrl-C still interrupts."""

from __future__ import annotations

import signal
import time

import pytest

from bench.cli import main
from bench.config import usercode
from bench.store import load
from tests.usercode_helpers import (
    clean_registries,  # noqa: F401  (fixture)
    snapshot,
    write,
)

QUICK = [
    "--dataset",
    "synthetic",
    "--epochs",
    "1",
    "--limit-train",
    "300",
    "--limit-test",
    "100",
    "--threads",
    "1",
    "--quiet",
]
pytestmark = pytest.mark.usefixtures("clean_registries")

EXITS_IN_TRAINING = """
import sys

from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))

    def forward(self, x):
        if self.training:  # the check's forward (eval mode) passes; training exits
            {exit}
        return self.net(x)
"""


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("warning: this machine")]
    assert len(lines) == 1 and lines[0].startswith("bench: error: "), err
    return lines[0]


@pytest.mark.parametrize("code", ["sys.exit(3)", "sys.exit()", "raise KeyboardInterrupt"])
def test_an_exit_at_import_is_one_line_naming_the_file(tmp_path, capsys, code):
    model = write(tmp_path / "models.py", f"import sys\n\n{code}\n")
    results = tmp_path / "R"
    assert main(["run", "--arch", "slp", *QUICK, "--results", str(results)]) == 0
    before = snapshot(results)
    capsys.readouterr()
    assert main(["run", "--arch", f"{model}:Net", *QUICK, "--results", str(results)]) == 2
    line = one_line(capsys)
    assert f"cannot import {model}: {model}:3: it " in line
    shown = {"sys.exit(3)": "calls sys.exit(3)", "sys.exit()": "calls sys.exit()"}
    assert shown.get(code, "raises KeyboardInterrupt") in line
    assert "if __name__" in line
    assert snapshot(results) == before
    # the same file as an --import plugin, for every command that imports plugins
    for command in (
        ["list", "--import", str(model)],
        ["report", "--import", str(model), "--results", str(results), "--quiet"],
        ["run", "--import", str(model), "--arch", "slp", *QUICK, "--results", str(results)],
    ):
        assert main(command) == 2, command
        assert f"cannot import {model}: {model}:3:" in one_line(capsys)
    assert snapshot(results) == before


@pytest.mark.parametrize(
    "code,shown",
    [
        ("sys.exit()", "sys.exit() called at"),
        ("sys.exit(0)", "sys.exit(0) called at"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt raised at"),
    ],
)
def test_an_exit_in_forward_is_the_runs_recorded_error_and_the_sweep_goes_on(
    tmp_path, capsys, code, shown
):
    model = write(tmp_path / "models.py", EXITS_IN_TRAINING.replace("{exit}", code))
    results = tmp_path / "R"
    args = ["run", "--arch", f"{model}:Net", "slp", *QUICK, "--results", str(results)]
    assert main(args) == 1  # a run ended in error
    capsys.readouterr()
    runs = load(results).runs.set_index("arch")
    assert runs.loc["slp", "status"] == "ok"  # the run after it trained
    assert runs.loc["Net", "status"] == "error"
    message = runs.loc["Net", "message"]
    assert message == f"UserCodeExit: {shown} {model}:13", message
    trace = runs.loc["Net", "traceback"]
    assert "SystemExit" in trace or "KeyboardInterrupt" in trace


@pytest.fixture
def python_ctrl_c():
    """SIGINT handled by Python's own handler, as in an interactive session (a test session
    started in the background by a non-interactive shell inherits SIGINT ignored)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_real_ctrl_c_still_interrupts_user_code(python_ctrl_c):
    raised_by_code = pytest.raises(usercode.UserCodeExit, match="KeyboardInterrupt raised at")
    with raised_by_code, usercode.exits_as_errors():
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt), usercode.exits_as_errors():
        signal.raise_signal(signal.SIGINT)
        time.sleep(1)  # the handler runs between bytecodes: here at the latest
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
