"""``bench run --track mlflow``: an event sink that exports each run to MLflow as soon as it is
recorded (:class:`bench.config.events.RunFinished`), beside the display's.

The study does not wait for MLflow and never fails because of it: a run that cannot be
exported is noted (:attr:`MlflowTracker.failures`) and the front end says so once at the end;
``bench export mlflow`` exports it later (exporting is idempotent). Suite parents are created
as their first run arrives; their report is added by the next ``bench export mlflow``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.config.events import Event, EventSink, RunFinished
from bench.export.extras import require
from bench.export.runs import stored_runs
from bench.export.to_mlflow import Exporter, default_tracking_uri
from bench.store import load
from bench.sweep.study_values import TRACKERS

__all__ = ["TRACKERS", "MlflowTracker", "fan_out", "tracked"]


class MlflowTracker:
    """Exports each recorded run of the study whose results are in ``results`` to MLflow
    (``tracking_uri``: default as for ``bench export mlflow``)."""

    def __init__(
        self, results: Path, tracking_uri: str | None = None, experiment: str | None = None
    ):
        require("mlflow")  # before anything runs: a missing extra is one line, exit 2
        self.results = Path(results)
        self.uri = tracking_uri or default_tracking_uri(self.results)
        self.experiment = experiment
        self.exported: list[str] = []
        self.failures: list[tuple[str, str]] = []
        self._exporter: Exporter | None = None

    def __call__(self, event: Event) -> None:
        if not isinstance(event, RunFinished) or event.kept_in is not None:
            return
        try:
            if self._exporter is None:
                self._exporter = Exporter(self.results, self.uri, self.experiment)
            tables = load(self.results)
            everything = stored_runs(tables)
            runs = [r for r in everything if r.run_id == event.run_id]
            outcome = self._exporter.export(runs, everything)
            self.exported += outcome.new + outcome.replaced
        except Exception as exc:  # whatever MLflow raises: the sweep goes on, told at the end
            self.failures.append((event.run_id, " ".join(str(exc).split())[:300]))

    def describe(self) -> str:
        """What it did, in one line for the front end."""
        line = f"{len(self.exported)} runs exported to MLflow at {self.uri}"
        if self.failures:
            run_id, reason = self.failures[0]
            line += (
                f"; {len(self.failures)} could not be (first: {run_id}: {reason}); "
                f"`bench export mlflow --results {self.results}` exports them later"
            )
        return line


def tracked(
    track: str | None, results: Path, on_event: EventSink | None
) -> tuple[EventSink | None, MlflowTracker | None]:
    """The sink a front end gives :func:`bench.sweep.run_study` for ``Study.track``: its own
    ``on_event`` and, when tracking, the tracker after it; and the tracker (None when not)."""
    if track is None:
        return on_event, None
    if track not in TRACKERS:
        raise ValueError(f"unknown tracker {track!r}; valid: {', '.join(TRACKERS)}")
    tracker = MlflowTracker(results)
    return fan_out(on_event, tracker), tracker


def fan_out(*sinks: EventSink | Callable[[Any], None] | None) -> EventSink:
    """One sink that hands each event to every one of ``sinks`` in turn."""
    present = [sink for sink in sinks if sink is not None]

    def sink(event: Event) -> None:
        for each in present:
            each(event)

    return sink
