"""Executors: where the runs of a sweep execute.

An executor takes the configs still to run and hands each :class:`RunResult` back to the
sweep's ``on_result`` as it completes; only the sweep writes the results store.

- ``local``: in this process, one run after another (the default), with live progress.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.config import RunConfig
from bench.progress import RunProgress, SweepProgress
from bench.runner import RunResult, execute

OnResult = Callable[[RunResult, RunProgress | None], None]


@dataclass
class LocalExecutor:
    """Runs every config in this process, in order."""

    name = "local"

    def run(
        self,
        configs: Sequence[RunConfig],
        *,
        data_root: Path | None,
        targets: Sequence[float],
        progress: SweepProgress,
        on_result: OnResult,
    ) -> None:
        for config in configs:
            run_progress = progress.start(config)
            result = execute(config, data_root, reporter=run_progress, targets=targets)
            on_result(result, run_progress)


EXECUTORS = ("local",)


def make_executor(name: str, **options) -> LocalExecutor:
    return LocalExecutor()
