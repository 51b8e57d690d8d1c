"""Executors: where the runs of a sweep execute.

An executor takes the tasks still to run (lists of configs, see
:func:`bench.runner.group_tasks`; most hold one config) and hands each :class:`RunResult`
back to the sweep's ``on_result`` as it completes; only the sweep writes the results store.

- ``local``: in this process, one run after another (the default), with live progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.config import RunConfig
from bench.progress import RunProgress, SweepProgress
from bench.runner import RunResult, execute_task

OnResult = Callable[[RunResult, RunProgress | None], None]


@dataclass
class LocalExecutor:
    """Runs every task in this process, in order, with live progress."""

    name = "local"

    def run(
        self,
        tasks: Sequence[Sequence[RunConfig]],
        *,
        data_root: Path | None,
        targets: Sequence[float],
        progress: SweepProgress,
        on_result: OnResult,
    ) -> None:
        for task in tasks:
            run_progress = progress.start(task)
            results = execute_task(task, data_root, reporter=run_progress, targets=targets)
            for result in results:
                on_result(result, run_progress)


EXECUTORS = ("local",)


def make_executor(name: str, **options) -> LocalExecutor:
    return LocalExecutor()
