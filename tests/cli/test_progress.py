"""`bench run`'s display of a study's events, off a terminal: the lines it has always printed
(a log or CI keeps them), and `--quiet` keeps only what is not progress."""

from __future__ import annotations

import io
from pathlib import Path

from bench.cli.progress import RunDisplay
from bench.config import events

SWEEP = [
    events.MachineBusy("warning: this machine is busy (...)"),
    events.SweepStarted(todo=3, planned=4, already_done=1, directory=Path("R")),
    events.TaskStarted(("mlp32 seed=0",)),
    events.TrainingSteps(50, 100, 0.5),
    events.EpochEnded(1, 2, 0.51234, 0.9, 0.91, None, 1.234),
    events.RunFinished("mlp32 seed=0", "a", "ok", "", 0.9712, 0.09341, 3.21, live=True),
    events.TaskStarted(("slp seed=0", "slp seed=1")),
    events.EpochEnded(1, 1, 0.3, 0.95, 0.96, 0.97, 0.5),
    events.RunFinished("slp seed=0", "b", "ok", "", 0.97, 0.1, 0.5, live=True),
    events.RunFinished(
        "slp seed=1",
        "c",
        "diverged",
        "loss is nan",
        None,
        None,
        0.2,
        live=True,
        kept_in=Path("R/unrecorded/c.json"),
    ),
    events.SweepEnded(),
    events.SweepRecorded(4, Path("R/archbench.sqlite"), "2 ok, 1 diverged, 1 already done"),
    events.SlotWaiting("123"),
]
LINES = [
    "warning: this machine is busy (...)",
    "1 of 4 runs already in R; running 3 (--force re-runs all)",
    "[1/3] mlp32 seed=0: epoch 1/2 train_loss 0.5123 train_acc 90.00 % val_acc 91.00 % "
    "test_acc - (1.23 s)",
    "[1/3] mlp32 seed=0: ok: test_acc 97.12 %, test_loss 0.0934, 3.2 s training",
    "[2-3/3] slp seed=0 (x2 seeds): epoch 1/1 train_loss 0.3000 train_acc 95.00 % val_acc "
    "96.00 % test_acc 97.00 % (0.50 s)",
    "    slp seed=0: ok: test_acc 97.00 %, test_loss 0.1000, 0.5 s training",
    "    slp seed=1: diverged: loss is nan (NOT recorded; kept in R/unrecorded/c.json)",
    "waiting for the machine-wide training slot (held by archbench pid 123)",
]


def test_off_a_terminal_each_epoch_and_run_is_one_line(capsys):
    stream = io.StringIO()
    display = RunDisplay(stream)
    for event in SWEEP:
        display(event)
    assert stream.getvalue().splitlines() == LINES
    assert (
        capsys.readouterr().out
        == "4 runs in R/archbench.sqlite: 2 ok, 1 diverged, 1 already done\n"
    )


def test_quiet_keeps_warnings_waits_and_what_was_recorded(capsys):
    stream = io.StringIO()
    display = RunDisplay(stream, enabled=False)
    for event in SWEEP:
        display(event)
    assert stream.getvalue().splitlines() == [LINES[0], LINES[-1]]
    assert capsys.readouterr().out.startswith("4 runs in R/archbench.sqlite")


def test_runs_without_live_progress_are_counted_as_they_arrive():
    """Runs of the process or Ray executors arrive whole (no task was started here)."""
    stream = io.StringIO()
    display = RunDisplay(stream)
    display(events.SweepStarted(todo=2, planned=2, already_done=0, directory=Path("R")))
    display(events.ExecutorReady("a local Ray instance: 1 node(s), 2 CPUs, 0 GPUs"))
    for label in ("cnn seed=0", "cnn seed=1"):
        display(
            events.RunFinished(
                label, "x", "error", "timed out after 3 s (--timeout)", None, None, 0.0, live=False
            )
        )
    assert stream.getvalue().splitlines() == [
        "a local Ray instance: 1 node(s), 2 CPUs, 0 GPUs",
        "[1/2] cnn seed=0: error: timed out after 3 s (--timeout)",
        "[2/2] cnn seed=1: error: timed out after 3 s (--timeout)",
    ]
