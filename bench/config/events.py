"""What a study reports while it runs: small frozen records handed to an :data:`EventSink`.

The code that trains and records never prints. It calls the sink it was given (``emit``) with
one of these events, and the front end decides what to show: ``bench run`` renders them as
tqdm bars on a terminal and as lines elsewhere (:mod:`bench.cli.progress`), the Python API
hands them to the user's ``on_event`` callback or drops them. An event holds data, not
formatting; those that stand for one message (a wait, a warning, a verdict line) also give it
as :attr:`text`, the same words ``bench run`` prints.

In the order a study meets them: :class:`SlotWaiting`, :class:`PluginSkipped` and
:class:`MachineBusy` before it trains; per sweep :class:`SweepStarted`, :class:`ExecutorReady`
(Ray), per task :class:`TaskStarted`, :class:`TrainingSteps` and :class:`EpochEnded` (live
progress of a run trained in this process), :class:`RunFinished` per run, :class:`SweepEnded`,
and :class:`SweepRecorded` once a fixed-seed study's sweep is recorded; ``--seeds auto`` adds
:class:`AdaptiveStarted`, :class:`RoundStarted` and :class:`RoundSettled`; a suite's LR range
test :class:`LRRangeStarted` and :class:`LRRangePoint`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Event:
    """The base of every event."""


EventSink = Callable[[Event], None]


def drop(event: Event) -> None:
    """The sink of a caller that wants no progress."""


@dataclass(frozen=True)
class SlotWaiting(Event):
    """Another archbench process holds the machine-wide training slot: this one waits."""

    holder: str  # its pid as it wrote it, or "unknown"

    @property
    def text(self) -> str:
        return f"waiting for the machine-wide training slot (held by archbench pid {self.holder})"


@dataclass(frozen=True)
class MachineBusy(Event):
    """Other work keeps the cores busy before the sweep starts (its runs may be contended)."""

    text: str


@dataclass(frozen=True)
class PluginSkipped(Event):
    """An installed plugin could not be imported: the study goes on without it (``text``
    names it, the error and how to skip plugins)."""

    text: str


@dataclass(frozen=True)
class SweepStarted(Event):
    """A sweep begins: ``todo`` runs to train of ``planned``; ``already_done`` are complete in
    the store at ``directory`` and are not trained again."""

    todo: int
    planned: int
    already_done: int
    directory: Path

    @property
    def text(self) -> str:
        return (
            f"{self.already_done} of {self.planned} runs already in {self.directory}; "
            f"running {self.todo} (--force re-runs all)"
        )


@dataclass(frozen=True)
class ExecutorReady(Event):
    """Where the sweep's runs execute, once connected (a Ray cluster's nodes and resources)."""

    text: str


@dataclass(frozen=True)
class TaskStarted(Event):
    """A task starts in this process: one run, or seeds trained together (their labels, and
    their run ids)."""

    labels: tuple[str, ...]
    run_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainingSteps(Event):
    """The running task has done ``done`` of ``total`` optimizer steps; ``loss`` is the mean
    training loss of its epoch so far."""

    done: int
    total: int
    loss: float


@dataclass(frozen=True)
class EpochEnded(Event):
    """The running task finished epoch ``epoch`` of ``epochs`` (accuracies as fractions; None
    where there is no such split)."""

    epoch: int
    epochs: int
    train_loss: float
    train_acc: float | None
    val_acc: float | None
    test_acc: float | None
    train_s: float


@dataclass(frozen=True)
class RunFinished(Event):
    """A run ended and was handed to the store. ``live``: its task was started in this process
    (:class:`TaskStarted`); ``kept_in``: the side file it is kept in when the store could not
    take it; ``kept_theirs``: another process had recorded the same run first."""

    label: str
    run_id: str
    status: str
    message: str
    test_acc: float | None
    test_loss: float | None
    train_s: float
    live: bool
    kept_in: Path | None = None
    kept_theirs: bool = False


@dataclass(frozen=True)
class SweepEnded(Event):
    """A sweep is over (normally or not): live displays close."""


@dataclass(frozen=True)
class SweepRecorded(Event):
    """A fixed-seed study's sweep is recorded: ``planned`` runs in the store at ``store``,
    ``summary`` counting them by outcome (``2 ok, 1 already done``)."""

    planned: int
    store: Path
    summary: str

    @property
    def text(self) -> str:
        return f"{self.planned} runs in {self.store}: {self.summary}"


@dataclass(frozen=True)
class AdaptiveStarted(Event):
    """``--seeds auto`` begins study ``study_id`` under the rule ``settings`` describes."""

    study_id: str
    settings: str

    @property
    def text(self) -> str:
        return f"--seeds auto (study {self.study_id}): {self.settings}"


@dataclass(frozen=True)
class RoundSettled(Event):
    """``--seeds auto`` looked at ``n`` seeds (round ``index``): ``text`` says which pairs were
    settled there and which are still open."""

    index: int
    n: int
    text: str


@dataclass(frozen=True)
class RoundStarted(Event):
    """``--seeds auto`` trains round ``index``, up to ``n`` seeds: per model, the seeds added."""

    index: int
    n: int
    added: tuple[tuple[str, int], ...]

    @property
    def text(self) -> str:
        counts = ", ".join(f"{model} +{count}" for model, count in self.added)
        return f"round {self.index}: training up to n={self.n} seeds: {counts}"


@dataclass(frozen=True)
class LRRangeStarted(Event):
    """A suite's LR range test starts on the run ``label`` over the learning rates ``lrs``."""

    label: str
    lrs: tuple[float, ...]

    @property
    def text(self) -> str:
        return (
            f"LR range test: {self.label}, {len(self.lrs)} learning rates "
            f"{self.lrs[0]:g}..{self.lrs[-1]:g}"
        )


@dataclass(frozen=True)
class LRRangePoint(Event):
    """One learning rate of the LR range test trained: its status and validation loss."""

    lr: float
    status: str
    val_loss: float | None
    train_s: float

    @property
    def text(self) -> str:
        loss = "-" if self.val_loss is None else f"{self.val_loss:.4f}"
        return f"  lr {self.lr:g}: {self.status}, val_loss {loss} ({self.train_s:.1f} s)"
