"""Progress display for a sweep: tqdm bars on a terminal, plain lines elsewhere.

On a terminal, one bar counts runs and a second follows the current run's steps with its live
loss and validation accuracy. When the stream is not a terminal (CI, a pipe, a log file), each
epoch and each finished run prints one line instead.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from tqdm import tqdm

from bench.config import RunConfig
from bench.train.loop import EpochRecord
from bench.train.runner import RunResult


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def describe_result(result: RunResult) -> str:
    if result.status == "ok":
        m = result.metrics
        return (
            f"ok: test_acc {_pct(m.get('test_acc'))}, test_loss {m.get('test_loss'):.4f}, "
            f"{m.get('time_train_s', 0):.1f} s training"
        )
    return f"{result.status}: {result.message}"


class RunProgress:
    """Receives one run's steps and epochs from the training loop."""

    def __init__(self, sweep: SweepProgress, prefix: str, runs: int = 1):
        self.sweep = sweep
        self.prefix = prefix
        self.runs = runs  # more than one: seeds trained together
        self.bar: tqdm | None = None
        self.val_acc: float | None = None

    def steps(self, done: int, total: int, loss: float) -> None:
        if not self.sweep.tty:
            return
        if self.bar is None:
            self.bar = tqdm(
                total=total, desc=self.prefix, position=1, leave=False, file=self.sweep.stream,
                unit="step", dynamic_ncols=True,
            )  # fmt: skip
        self.bar.update(done - self.bar.n)
        postfix = {"loss": f"{loss:.4f}"}
        if self.val_acc is not None:
            postfix["val_acc"] = _pct(self.val_acc)
        self.bar.set_postfix(postfix, refresh=False)

    def epoch(self, record: EpochRecord, epochs: int) -> None:
        self.val_acc = record.val_acc
        if self.sweep.tty:
            return
        self.sweep.line(
            f"{self.prefix}: epoch {record.epoch}/{epochs} train_loss {record.train_loss:.4f} "
            f"train_acc {_pct(record.train_acc)} val_acc {_pct(record.val_acc)} "
            f"test_acc {_pct(record.test_acc)} ({record.train_s:.2f} s)"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class SweepProgress:
    """The display for a sweep; :meth:`begin` says how many runs it will show."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self.total = 0
        self.index = 0
        self.bar: tqdm | None = None

    def begin(self, total: int) -> None:
        """Start counting ``total`` runs (a later sweep on the same display starts again)."""
        self.close()
        self.total, self.index = total, 0
        if self.tty:
            self.bar = tqdm(total=total, desc="runs", position=0, file=self.stream, unit="run")

    def line(self, text: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def start(self, task: Sequence[RunConfig]) -> RunProgress:
        """Progress of one task: a run, or seeds trained together (counted as one each)."""
        first = self.index + 1
        self.index += len(task)
        span = f"{first}" if len(task) == 1 else f"{first}-{self.index}"
        label = task[0].label if len(task) == 1 else f"{task[0].label} (x{len(task)} seeds)"
        return RunProgress(self, f"[{span}/{self.total}] {label}", runs=len(task))

    def finish(self, run: RunProgress | None, result: RunResult, note: str = "") -> None:
        """One run's result; ``run`` is None when no live progress was shown for it."""
        if run is None:
            self.index += 1
            prefix = f"[{self.index}/{self.total}] {result.config.label}"
        else:
            run.close()
            prefix = run.prefix if run.runs == 1 else f"    {result.config.label}"
        self.line(f"{prefix}: {describe_result(result)}{note}")
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
