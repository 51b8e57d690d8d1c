"""The MLflow export against a real local MLflow store (SQLite), read back with MLflow's own
client: one MLflow run per stored run with its tags, parameters, per-epoch metrics and
artifacts, a parent run per suite holding the report; exporting again changes nothing, a store
that gained runs exports only those; ``bench run --track mlflow`` exports as it records."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import api
from bench.cli.main import main
from bench.export import default_tracking_uri, export_mlflow
from bench.store import load

SUITE = "digits-from-scratch"
# MLflow's SQLite store uses an SQLAlchemy option that SQLAlchemy 2.1 deprecates
pytestmark = [
    pytest.mark.slow,  # every test reads a new MLflow store (its schema upgrade: seconds)
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy"),
]


def mlflow_client(uri: str):
    """MLflow's client of the store at ``uri``. MLflow is imported here, not with this module:
    every pytest-xdist worker collects this module, one runs it (the import takes seconds)."""
    from mlflow import MlflowClient

    return MlflowClient(uri)


@pytest.fixture(autouse=True)
def _no_tracking_env(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two seeds of a suite's two models (3 epochs) and one run outside any suite."""
    results = tmp_path_factory.mktemp("mlflow") / "results"
    api.run(suite=SUITE, epochs=3, seeds=[0, 1], device="cpu", results=results)
    api.run(archs=["mlp32"], dataset="synthetic", epochs=2, device="cpu", results=results)
    return results


@pytest.fixture(scope="module")
def exported(store):
    uri = f"sqlite:///{store.parent / 'mlflow.db'}"
    return uri, export_mlflow(store, tracking_uri=uri)


def mlflow_runs(uri: str, experiment: str = "archbench") -> list:
    client = mlflow_client(uri)
    found = client.get_experiment_by_name(experiment)
    return list(client.search_runs([found.experiment_id], max_results=1000))


def by_kind(runs: list, kind: str) -> list:
    return [run for run in runs if run.data.tags.get("archbench.kind") == kind]


def snapshot(uri: str) -> list:
    """Everything the experiment holds, run by run: ids, status, times, tags, parameters,
    each metric's full history and the artifacts."""
    client = mlflow_client(uri)
    taken = []
    for run in mlflow_runs(uri):
        histories = {
            key: [
                (m.step, m.value, m.timestamp)
                for m in client.get_metric_history(run.info.run_id, key)
            ]
            for key in run.data.metrics
        }
        artifacts = [a.path for a in client.list_artifacts(run.info.run_id)]
        taken.append(
            (
                run.info.run_id,
                run.info.status,
                run.info.start_time,
                run.info.end_time,
                run.info.lifecycle_stage,
                dict(run.data.tags),
                dict(run.data.params),
                histories,
                artifacts,
            )
        )
    return sorted(taken)


@pytest.mark.slow
def test_every_stored_run_is_an_mlflow_run_with_its_tags(store, exported):
    uri, outcome = exported
    stored = load(store).runs.set_index("run_id")
    found = mlflow_runs(uri)
    children, parents = by_kind(found, "run"), by_kind(found, "suite")
    assert len(children) == len(stored) == 5 and sorted(outcome.new) == sorted(stored.index)
    assert [p.data.tags["archbench.suite"] for p in parents] == [SUITE]
    assert outcome.reports == [SUITE]
    parent_id = parents[0].info.run_id
    for run in children:
        tags = run.data.tags
        row = stored.loc[tags["archbench.run_id"]]
        assert tags["archbench.status"] == row.status == "ok" and run.info.status == "FINISHED"
        assert tags["archbench.timing"] == row.timing
        assert tags["archbench.git_commit"] == row.git_commit
        assert tags["archbench.seed"] == str(row.seed)
        assert tags["archbench.model"] == row.arch  # one variant per architecture here
        assert len(tags["archbench.variant"]) == 12
        assert run.info.run_name == f"{row.arch} seed={row.seed}"
        in_suite = row.arch.startswith("digits")
        assert tags.get("archbench.suite") == (SUITE if in_suite else None)
        assert tags.get("mlflow.parentRunId") == (parent_id if in_suite else None)
    seeds = {
        r.data.tags["archbench.variant"]
        for r in children
        if r.info.run_name.startswith("digits_slp")
    }
    assert len(seeds) == 1  # both seeds of a model share its variant


def test_metrics_have_the_epochs_as_steps_and_params_the_config(store, exported):
    uri, _ = exported
    client = mlflow_client(uri)
    tables = load(store)
    run = next(
        r for r in by_kind(mlflow_runs(uri), "run") if r.info.run_name == "digits_mlp seed=1"
    )
    run_id = run.data.tags["archbench.run_id"]
    epochs = tables.history[tables.history.run_id == run_id].sort_values("epoch")
    for key in ("test_acc", "test_loss", "train_loss", "lr"):
        history = client.get_metric_history(run.info.run_id, key)
        assert [(m.step, m.value) for m in history] == list(
            zip(epochs.epoch, epochs[key], strict=True)
        )
    assert [m.step for m in client.get_metric_history(run.info.run_id, "test_acc")] == [1, 2, 3]
    row = tables.runs.set_index("run_id").loc[run_id]
    assert run.data.metrics["time_train_s"] == row.time_train_s
    assert run.data.metrics["n_train"] == row.n_train
    config = json.loads(row.config_json)
    params = run.data.params
    assert params["arch"] == "digits_mlp" and params["seed"] == "1"
    assert params["recipe.lr"] == str(config["recipe"]["lr"]) and params["limit_train"] == "None"
    assert params["recipe.epochs"] == "3" and params["recipe.batch_size"] == "None"


def test_artifacts_hold_the_summary_config_and_the_suite_report(store, exported):
    uri, _ = exported
    client = mlflow_client(uri)
    tables = load(store)
    found = mlflow_runs(uri)
    run = next(r for r in by_kind(found, "run") if r.info.run_name == "digits_slp seed=0")
    row = tables.runs.set_index("run_id").loc[run.data.tags["archbench.run_id"]]
    summary = tables.models.set_index("model_key").summary[row.model_key]
    local = Path(client.download_artifacts(run.info.run_id, "", str(store.parent / "got")))
    assert (local / "torchinfo_summary.txt").read_text() == summary
    assert json.loads((local / "config.json").read_text()) == json.loads(row.config_json)
    parent = by_kind(found, "suite")[0]
    assert [a.path for a in client.list_artifacts(parent.info.run_id)] == ["report.html"]
    page = client.download_artifacts(parent.info.run_id, "report.html", str(store.parent))
    text = Path(page).read_text()
    assert text.lstrip().lower().startswith("<!doctype html") and "digits_mlp" in text


def test_exporting_again_changes_nothing(store, exported):
    uri, _ = exported
    before = snapshot(uri)
    outcome = export_mlflow(store, tracking_uri=uri)
    assert (outcome.new, outcome.replaced, outcome.reports) == ([], [], [])
    assert len(outcome.already) == 5
    assert snapshot(uri) == before


@pytest.mark.slow
def test_a_store_that_gained_runs_exports_only_the_new_ones(tmp_path):
    results = tmp_path / "results"
    quick = {"archs": ["mlp32"], "dataset": "synthetic", "epochs": 1, "device": "cpu"}
    quick["seed_parallel"] = "off"  # the same run ids whether one seed is asked for or two
    first = api.run(**quick, seeds=[0], results=results).runs.run_id.tolist()
    assert export_mlflow(results).new == first  # the default store: beside the results
    uri = default_tracking_uri(results)
    assert uri == f"sqlite:///{(results / 'mlflow.db').resolve()}"
    assert (results / "mlartifacts").is_dir()
    old = {r.data.tags["archbench.run_id"]: r.info.run_id for r in mlflow_runs(uri)}

    both = api.run(**quick, seeds=[0, 1], results=results).runs.run_id.tolist()
    outcome = export_mlflow(results)
    assert outcome.new == [i for i in both if i not in first] and outcome.already == first
    now = {r.data.tags["archbench.run_id"]: r.info.run_id for r in mlflow_runs(uri)}
    assert len(now) == 2 and now[first[0]] == old[first[0]]  # the first one left as it was

    # a run trained again (--force) replaces its MLflow run: the old one is deleted
    api.run(**quick, seeds=[0], results=results, force=True)
    outcome = export_mlflow(results)
    assert outcome.replaced == first and outcome.new == []
    again = {r.data.tags["archbench.run_id"]: r.info.run_id for r in mlflow_runs(uri)}
    assert len(again) == 2 and again[first[0]] != old[first[0]]
    assert mlflow_client(uri).get_run(old[first[0]]).info.lifecycle_stage == "deleted"


@pytest.mark.slow
def test_bench_run_track_mlflow_exports_each_run_as_it_is_recorded(tmp_path, capsys):
    results = tmp_path / "results"
    code = main(
        [
            *("run", "--suite", SUITE, "--epochs", "2", "--seeds", "0", "--device", "cpu"),
            *("--results", str(results), "--quiet", "--track", "mlflow"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and f"2 runs exported to MLflow at {default_tracking_uri(results)}" in out
    found = mlflow_runs(default_tracking_uri(results))
    assert len(by_kind(found, "run")) == 2
    parent = by_kind(found, "suite")[0]
    assert "archbench.report_of" not in parent.data.tags  # the report: at the next export
    outcome = export_mlflow(results)
    assert (outcome.new, outcome.reports) == ([], [SUITE])


def test_a_tracking_failure_leaves_the_sweep_going(tmp_path, monkeypatch):
    """From Python (``track="mlflow"``): a store MLflow cannot open costs no run; one warning
    names what was not exported and how to catch up."""
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/a-file/mlflow.db")
    results = tmp_path / "results"
    quick = {"dataset": "synthetic", "epochs": 1, "device": "cpu", "seeds": [0, 1]}
    with pytest.warns(UserWarning, match="exported to MLflow") as caught:
        outcome = api.run(["mlp32"], **quick, results=results, track="mlflow")
    assert len(outcome.runs) == 2 and len(load(results).runs) == 2
    (text,) = [str(w.message) for w in caught if "exported to MLflow" in str(w.message)]
    assert "0 runs exported" in text and "2 could not be" in text
    assert f"bench export mlflow --results {results}" in text


def test_track_names_a_known_tracker():
    from bench.config import UsageError

    with pytest.raises(UsageError, match="unknown --track 'wandb'; valid: mlflow"):
        api.run(archs=["mlp32"], track="wandb")


def test_a_missing_extra_is_one_line_naming_it(store, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    assert main(["export", "mlflow", "--results", str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'archbench[mlflow]'" in err
