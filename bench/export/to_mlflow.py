"""The runs of a results store as MLflow runs (``bench export mlflow``, ``bench run --track
mlflow``).

Each stored run becomes one MLflow run in the experiment (default ``archbench``): its config
flattened as parameters (``recipe.lr``, ``arch_kwargs``, ``seed``, ...; ``None`` where a field
is not set, such as a full batch's ``recipe.batch_size``), its history as metrics
with the epoch as step (``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``,
``test_loss``, ``test_acc``, ``lr``, ``train_s``, ``eval_s``, ``cum_train_s``,
``epoch_images_per_s``; the last step is the final number), its run-level numbers as metrics
(:data:`bench.export.runs.RUN_METRICS`, time to accuracy), tags (:data:`TAGS`), and as
artifacts its torchinfo summary, its config, its environment and a failed run's traceback.
MLflow's run status follows archbench's (``ok``: FINISHED, ``skipped``: KILLED, others:
FAILED), and its start and end times are the run's.

The runs of a suite are children of one parent run per suite (``suite NAME``), which holds
the suite's report as one self-contained HTML page (``report.html``, written by
:func:`bench.report.write_report`); a run of several suites is the child of the first by
name (the tag ``archbench.suite`` names them all).

Exporting is idempotent: a run is matched by its ``archbench.run_id`` tag and exported once.
The tag ``archbench.finished_at``, set last, marks an export as complete: a stored run that was
trained again (``--force``, or a failed run re-run) or whose export was cut short is exported
again, replacing the old MLflow run (deleted). A suite's report is made again only when its
runs changed (tag ``archbench.report_of``). The reports are made before anything is written,
so one that fails (a missing dataset, say) stops the export with nothing half-written.

The tracking URI: the one given, else ``$MLFLOW_TRACKING_URI``, else a local SQLite store
beside the results (``sqlite:///DIR/mlflow.db``), which ``mlflow ui --backend-store-uri
sqlite:///DIR/mlflow.db`` shows; no server is needed. An experiment archbench creates in a
local SQLite store keeps its artifacts beside the database file (``mlartifacts/``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import ArchbenchError
from bench.export.extras import require
from bench.export.runs import EPOCH_METRICS, StoredRun, present, stored_runs, suite_digest
from bench.store import load

DEFAULT_EXPERIMENT = "archbench"
DB_FILE = "mlflow.db"
ARTIFACTS = "mlartifacts"
REPORT = "report.html"

RUN_ID = "archbench.run_id"  # the tag an exported run is matched by
FINISHED = "archbench.finished_at"  # set last: the export of the run is complete
KIND = "archbench.kind"  # "run" or "suite" (a suite's parent run)
SUITE = "archbench.suite"  # the suites of a run; the suite of a parent
REPORT_OF = "archbench.report_of"  # a parent: the runs its report was made from (a hash)
TAGS = (
    RUN_ID,
    "archbench.status",
    "archbench.timing",
    "archbench.git_commit",
    "archbench.code_hash",
    SUITE,
    "archbench.seed",
    "archbench.model",
    "archbench.variant",
    FINISHED,
)
STATUS = {"ok": "FINISHED", "skipped": "KILLED"}  # any other status: FAILED
EPOCH_NAMES = {name: name for name in EPOCH_METRICS} | {"images_per_s": "epoch_images_per_s"}


def default_tracking_uri(results: Path) -> str:
    """``$MLFLOW_TRACKING_URI`` if set, else the SQLite store beside the results."""
    given = os.environ.get("MLFLOW_TRACKING_URI")
    return given or f"sqlite:///{(Path(results) / DB_FILE).resolve()}"


@dataclass
class MlflowExport:
    """What :func:`export_mlflow` did: where, and which runs it wrote, replaced or found."""

    uri: str
    experiment: str
    new: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)  # suites whose report was (re)written

    def describe(self) -> str:
        reports = f"; report of suite {', '.join(self.reports)} updated" if self.reports else ""
        return (
            f"{len(self.new)} new, {len(self.replaced)} replaced, {len(self.already)} already "
            f"there{reports}"
        )


class Exporter:
    """An MLflow experiment at a tracking URI, opened once, that stored runs are written to."""

    def __init__(
        self, results: Path, tracking_uri: str | None = None, experiment: str | None = None
    ):
        require("mlflow")
        from mlflow import MlflowClient

        for name in ("alembic", "mlflow"):  # a new SQLite store logs its migrations
            logging.getLogger(name).setLevel(logging.WARNING)
        self.results = Path(results)
        self.uri = tracking_uri or default_tracking_uri(self.results)
        self.experiment = experiment or DEFAULT_EXPERIMENT
        with mlflow_errors(self.uri):
            self.client = MlflowClient(tracking_uri=self.uri)
            found = self.client.get_experiment_by_name(self.experiment)
            if found is not None and found.lifecycle_stage == "deleted":
                raise ArchbenchError(
                    f"MLflow experiment {self.experiment!r} at {self.uri} is deleted; restore "
                    f"it (mlflow experiments restore) or give --experiment ANOTHER_NAME"
                )
            if found is None:
                self.experiment_id = self.client.create_experiment(
                    self.experiment, artifact_location(self.uri)
                )
            else:
                self.experiment_id = found.experiment_id

    def exported(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The experiment's archbench runs (by archbench run id) and parents (by suite)."""
        runs, parents, token = {}, {}, None
        while True:
            page = self.client.search_runs([self.experiment_id], max_results=1000, page_token=token)
            for run in page:
                tags = run.data.tags
                if tags.get(KIND) == "suite":
                    parents[tags.get(SUITE)] = run
                elif RUN_ID in tags:
                    runs[tags[RUN_ID]] = run
            token = page.token
            if not token:
                return runs, parents

    def export(
        self,
        runs: list[StoredRun],
        all_runs: list[StoredRun],
        *,
        report: Callable[[str, Path], Path | None] | None = None,
    ) -> MlflowExport:
        """Write ``runs`` that are not exported yet (or changed since); with ``report``
        (suite, folder -> the report's path, or None when it has none), bring the report of
        each suite of ``all_runs`` up to date."""
        outcome = MlflowExport(self.uri, self.experiment)
        with mlflow_errors(self.uri):
            exported, parents = self.exported()
            todo = []
            for run in runs:
                old = exported.get(run.run_id)
                if old is not None and old.data.tags.get(FINISHED) == str(run.row["finished_at"]):
                    outcome.already.append(run.run_id)
                else:
                    todo.append((run, old))
            members: dict[str, list[StoredRun]] = {}
            for run in all_runs:
                for suite in run.suites:
                    members.setdefault(suite, []).append(run)
            digests = {suite: suite_digest(group) for suite, group in members.items()}
            stale = {
                suite: digest
                for suite, digest in digests.items()
                if report is not None and report_of(parents.get(suite)) != digest
            }
            needed = {s for run, _ in todo for s in run.suites[:1]} | set(stale)
            with tempfile.TemporaryDirectory(prefix="archbench-mlflow-") as folder:
                reports = {}
                for suite in sorted(stale):  # made first: a failing report writes nothing
                    reports[suite] = report(suite, Path(folder)) if report else None
                for suite in sorted(needed):
                    if suite not in parents:
                        parents[suite] = self._parent(suite, members.get(suite, []))
                for run, old in todo:
                    if old is not None:
                        self.client.delete_run(old.info.run_id)
                    parent = parents[run.suites[0]].info.run_id if run.suites else None
                    self._write(run, parent)
                    (outcome.new if old is None else outcome.replaced).append(run.run_id)
                for suite, digest in sorted(stale.items()):
                    parent = parents[suite].info.run_id
                    if reports[suite] is not None:
                        self.client.log_artifact(parent, str(reports[suite]))
                        outcome.reports.append(suite)
                    self.client.set_tag(parent, REPORT_OF, digest)
        return outcome

    def _parent(self, suite: str, runs: list[StoredRun]):
        start = min((r.start_ms() for r in runs), default=0) or None
        parent = self.client.create_run(
            self.experiment_id,
            start_time=start,
            tags={KIND: "suite", SUITE: suite},
            run_name=f"suite {suite}",
        )
        end = max((r.end_ms() for r in runs), default=0) or None
        self.client.set_terminated(parent.info.run_id, "FINISHED", end_time=end)
        return parent

    def _write(self, run: StoredRun, parent: str | None) -> None:
        from mlflow.entities import Metric, Param

        tags = {
            KIND: "run",
            RUN_ID: run.run_id,
            "archbench.status": run.status,
            "archbench.timing": run.row.get("timing"),
            "archbench.git_commit": run.row.get("git_commit"),
            "archbench.code_hash": run.code_hash(),
            SUITE: ",".join(run.suites) or None,
            "archbench.seed": run.seed,
            "archbench.model": run.model,
            "archbench.variant": run.variant,
            "archbench.label": run.row.get("label"),
            "archbench.message": run.row.get("message") or None,
        }
        if parent is not None:
            tags["mlflow.parentRunId"] = parent
        created = self.client.create_run(
            self.experiment_id,
            start_time=run.start_ms() or None,
            tags={k: str(v) for k, v in tags.items() if present(v)},
            run_name=f"{run.model} seed={run.seed}",
        )
        mlflow_id = created.info.run_id
        start, end = run.start_ms(), run.end_ms()
        metrics = []
        for epoch in run.history.to_dict(orient="records"):
            at = start + int(1000 * epoch["cum_train_s"] if present(epoch["cum_train_s"]) else 0)
            metrics += [
                Metric(EPOCH_NAMES[name], float(value), at, int(epoch["epoch"]))
                for name, value in epoch.items()
                if name in EPOCH_NAMES and present(value)
            ]
        metrics += [Metric(k, v, end, 0) for k, v in run.run_metrics().items()]
        params = [Param(k, str(v)) for k, v in run.params().items()]
        for chunk in chunks(metrics, 1000):
            self.client.log_batch(mlflow_id, metrics=chunk)
        for chunk in chunks(params, 100):
            self.client.log_batch(mlflow_id, params=chunk)
        if run.summary:
            self.client.log_text(mlflow_id, run.summary, "torchinfo_summary.txt")
        self.client.log_dict(mlflow_id, run.config(), "config.json")
        self.client.log_dict(mlflow_id, run.environment(), "environment.json")
        if present(run.row.get("traceback")):
            self.client.log_text(mlflow_id, run.row["traceback"], "traceback.txt")
        self.client.set_terminated(mlflow_id, STATUS.get(run.status, "FAILED"), end_time=end)
        self.client.set_tag(mlflow_id, FINISHED, str(run.row["finished_at"]))


def artifact_location(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a local SQLite store's file
    (``mlartifacts/``; MLflow's own default is relative to the working directory), else
    where the tracking server says (None)."""
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///").split("?")[0])
    return (database.parent / ARTIFACTS).resolve().as_uri()


def report_of(parent: Any) -> str | None:
    """What a parent run's report was made from (None: no parent, or no report yet)."""
    return None if parent is None else parent.data.tags.get(REPORT_OF)


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextlib.contextmanager
def mlflow_errors(uri: str) -> Iterator[None]:
    """An MLflow error (a store that cannot be written, a server that is not there) as one
    line naming the tracking URI."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        first = str(exc.message).strip().splitlines()[0] if str(exc.message).strip() else ""
        raise ArchbenchError(
            f"MLflow at {uri} refused the export: {first[:300]}; check --tracking-uri (or "
            f"$MLFLOW_TRACKING_URI) and that the store is writable"
        ) from None


def export_mlflow(
    results: Path | str = "results",
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    run_ids: Iterable[str] | None = None,
    report: bool = True,
    data_root: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> MlflowExport:
    """Export the runs of ``results`` (only ``run_ids`` when given) to MLflow (see the module
    docstring); with ``report``, each suite's parent run gets the suite's report (made with
    the data under ``data_root``; ``say`` hears its progress)."""
    results = Path(results)
    tables = load(results)
    everything = stored_runs(tables)
    wanted = None if run_ids is None else set(run_ids)
    runs = [r for r in everything if wanted is None or r.run_id in wanted]
    exporter = Exporter(results, tracking_uri, experiment)
    return exporter.export(
        runs, everything, report=suite_report(results, data_root, say) if report else None
    )


def suite_report(
    results: Path, data_root: Path | None, say: Callable[[str], None] | None
) -> Callable[[str, Path], Path | None]:
    """The maker of a suite's report for its parent run: one HTML page in a folder, or None
    when none of the suite's runs finished ok (there is nothing to report)."""
    from bench.report import write_report

    def make(suite: str, folder: Path) -> Path | None:
        tables = load(results).for_suite(suite)
        if not (tables.runs.status == "ok").any():
            return None
        if say is not None:
            say(f"writing the report of suite {suite} for its MLflow parent run")
        out = folder / suite.replace("/", "_") / REPORT
        try:
            return write_report(results, out, suite, data_root=data_root, say=say, fmt="html")
        except ArchbenchError as exc:
            error = ArchbenchError(
                f"the report of suite {suite} (for its MLflow parent run) failed, so nothing "
                f"was exported: {exc.args[0] if exc.args else exc}; fix that, or export "
                "without the reports: --no-report"
            )
            error.exit_code = exc.exit_code
            raise error from None

    return make
