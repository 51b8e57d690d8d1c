"""How ``bench run`` shows a study's events (:mod:`bench.config.events`): tqdm bars on a
terminal, plain lines elsewhere.

On a terminal, one bar counts runs and a second follows the current run's steps with its live
loss and validation accuracy. When stderr is not a terminal (CI, a pipe, a log file), each
epoch and each finished run prints one line instead. ``--quiet`` hides the progress; a wait for
the training slot, a busy-machine warning and a plugin left out are shown anyway (on stderr),
and so are the lines that say what was recorded and the ``--seeds auto`` rounds (on stdout).
Every line and bar label is written as :func:`bench.report.terminal_text` writes text: a run's
label or a failure's message holds no control sequence for the terminal.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

from bench.config import events
from bench.report import terminal_text


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def describe_finished(event: events.RunFinished) -> str:
    """``ok: test_acc 97.12 %, test_loss 0.0934, 3.2 s training`` or ``STATUS: message``."""
    if event.status == "ok":
        return (
            f"ok: test_acc {pct(event.test_acc)}, test_loss {event.test_loss:.4f}, "
            f"{event.train_s:.1f} s training"
        )
    return f"{event.status}: {event.message}"


class RunDisplay:
    """An event sink that renders to ``stream`` (default: stderr) and stdout; ``enabled``
    False is ``--quiet``."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self.total = self.index = 0
        self.bar: tqdm | None = None  # runs of the current sweep
        self.step_bar: tqdm | None = None  # steps of the current task
        self.prefix, self.task_runs, self.val_acc = "", 1, None

    def __call__(self, event: events.Event) -> None:
        handler = getattr(self, "on_" + type(event).__name__, None)
        if handler is not None:
            handler(event)

    def write(self, text: str) -> None:
        """One line on the stream, above the bars when they are shown."""
        text = terminal_text(text)
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def line(self, text: str) -> None:
        """One progress line (none with ``--quiet``)."""
        if self.enabled:
            self.write(text)

    def close(self) -> None:
        for bar in (self.step_bar, self.bar):
            if bar is not None:
                bar.close()
        self.step_bar = self.bar = None

    # shown whatever --quiet says
    def on_SlotWaiting(self, event: events.SlotWaiting) -> None:
        self.write(event.text)

    def on_MachineBusy(self, event: events.MachineBusy) -> None:
        self.write(event.text)

    def on_PluginSkipped(self, event: events.PluginSkipped) -> None:
        self.write(f"warning: {event.text}")

    def on_SweepRecorded(self, event: events.SweepRecorded) -> None:
        print(terminal_text(event.text))

    # --seeds auto: its rounds on stdout
    def on_AdaptiveStarted(self, event: events.AdaptiveStarted) -> None:
        if self.enabled:
            print(terminal_text(event.text))

    on_RoundSettled = on_RoundStarted = on_AdaptiveStarted

    # a sweep and its runs
    def on_SweepStarted(self, event: events.SweepStarted) -> None:
        self.close()
        self.total, self.index = event.todo, 0
        if self.tty:
            self.bar = tqdm(total=event.todo, desc="runs", position=0, file=self.stream, unit="run")
        if event.already_done:
            self.line(event.text)

    def on_SweepEnded(self, event: events.SweepEnded) -> None:
        self.close()

    def on_ExecutorReady(self, event: events.ExecutorReady) -> None:
        self.line(event.text)

    on_LRRangeStarted = on_LRRangePoint = on_ExecutorReady

    def on_TaskStarted(self, event: events.TaskStarted) -> None:
        """A run, or seeds trained together (counted as one run each)."""
        first = self.index + 1
        self.index += len(event.labels)
        span = f"{first}" if len(event.labels) == 1 else f"{first}-{self.index}"
        label = terminal_text(event.labels[0])  # also a bar's description
        label = label if len(event.labels) == 1 else f"{label} (x{len(event.labels)} seeds)"
        self.prefix, self.task_runs, self.val_acc = (
            f"[{span}/{self.total}] {label}",
            len(event.labels),
            None,
        )

    def on_TrainingSteps(self, event: events.TrainingSteps) -> None:
        if not self.tty:
            return
        if self.step_bar is None:
            self.step_bar = tqdm(
                total=event.total,
                desc=self.prefix,
                position=1,
                leave=False,
                file=self.stream,
                unit="step",
                dynamic_ncols=True,
            )
        self.step_bar.update(event.done - self.step_bar.n)
        postfix = {"loss": f"{event.loss:.4f}"}
        if self.val_acc is not None:
            postfix["val_acc"] = pct(self.val_acc)
        self.step_bar.set_postfix(postfix, refresh=False)

    def on_EpochEnded(self, event: events.EpochEnded) -> None:
        self.val_acc = event.val_acc
        if self.tty:
            return
        self.line(
            f"{self.prefix}: epoch {event.epoch}/{event.epochs} train_loss "
            f"{event.train_loss:.4f} train_acc {pct(event.train_acc)} val_acc "
            f"{pct(event.val_acc)} test_acc {pct(event.test_acc)} ({event.train_s:.2f} s)"
        )

    def on_RunFinished(self, event: events.RunFinished) -> None:
        if not event.live:  # no live progress was shown for it: counted here
            self.index += 1
            prefix = f"[{self.index}/{self.total}] {event.label}"
        else:
            if self.step_bar is not None:
                self.step_bar.close()
                self.step_bar = None
            prefix = self.prefix if self.task_runs == 1 else f"    {event.label}"
        note = ""
        if event.kept_in is not None:
            note = f" (NOT recorded; kept in {event.kept_in})"
        elif event.kept_theirs:
            note = " (another process recorded it first; kept theirs)"
        self.line(f"{prefix}: {describe_finished(event)}{note}")
        if self.bar is not None:
            self.bar.update(1)
