"""Every stored field of a run in one row (``Tables.full``, behind ``bench results --columns``):
the runs table as stored, the suites of each run, its model facts, its config and environment
flattened, one kind of value per column; and picking columns by name."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from bench import api
from bench.config import UsageError
from bench.store import load, select_columns
from bench.store.schema import HISTORY_COLUMNS, RUN_COLUMNS
from tests.usercode_helpers import registries_restored

STUDY = """\
name = "tiny"
archs = ["mlp32"]
dataset = "synthetic"
recipe = "adam-bs64-e5"
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """mlp32 on synthetic data: seeds 0 and 1 of a study file's suite, and one run outside."""
    root = tmp_path_factory.mktemp("columns")
    (root / "tiny.toml").write_text(STUDY)
    quick = {"epochs": 2, "device": "cpu", "results": root / "results"}
    with registries_restored():  # the study file's suite is gone for the other modules' tests
        api.run(suite_file=root / "tiny.toml", seeds=[0, 1], **quick)
        api.run(archs=["mlp32"], dataset="synthetic", seeds=[2], lr=3e-3, **quick)
    return root / "results"


def test_full_runs_hold_every_stored_field(store):
    tables = load(store)
    full = tables.full()
    assert list(full.columns[: len(tables.runs.columns)]) == list(tables.runs.columns)
    assert set(RUN_COLUMNS) <= set(full.columns)
    pd.testing.assert_frame_equal(full[tables.runs.columns], tables.runs.reset_index(drop=True))
    for row in full.to_dict(orient="records"):
        config, env = json.loads(row["config_json"]), json.loads(row["env_json"])
        assert row["config.recipe.lr"] == config["recipe"]["lr"]
        assert row["config.seed"] == config["seed"] == row["seed"]
        assert row["env.python_version"] == env["python_version"]
        assert row["env.timestamp"] == env["timestamp"]
        summary = tables.models.set_index("model_key").summary[row["model_key"]]
        assert row["model.summary"] == summary and row["model.input_shape"] == "1x28x28"
        if row["seed"] == 2:
            assert pd.isna(row["suites"])
        else:
            assert row["suites"] == "tiny"
    assert full["config.recipe.lr"].dtype == "float64"
    assert full["config.deterministic"].dtype == "bool"


def test_full_history_is_each_epoch_with_its_run(store):
    tables = load(store)
    history = tables.full(history=True)
    per_epoch = [c for c in HISTORY_COLUMNS if c != "run_id"]
    assert list(history.columns[:4]) == ["run_id", "arch", "seed", "device"]
    assert list(history.columns[4 : 4 + len(per_epoch)]) == per_epoch
    assert len(history) == len(tables.history) == 3 * 2
    assert len(set(history.columns)) == len(history.columns)
    stored = tables.history.sort_values(["run_id", "epoch"]).reset_index(drop=True)
    got = history.sort_values(["run_id", "epoch"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[stored.columns], stored)
    assert {"n_train", "n_val", "config.recipe.lr", "env.torch_version"} <= set(history.columns)


def test_a_field_of_mixed_kinds_is_text_for_every_run(store):
    tables = load(store)
    configs = [json.loads(text) for text in tables.runs.config_json]
    configs[0]["recipe"]["batch_size"] = "full"  # a number in the others
    configs[1]["recipe"]["milestones"] = [2, 4]  # a list, in one run only
    runs = tables.runs.assign(config_json=[json.dumps(c) for c in configs])
    full = dataclasses.replace(tables, runs=runs).full()
    assert list(full["config.recipe.batch_size"]) == ["full", "64", "64"]
    milestones = full["config.recipe.milestones"]
    assert milestones[1] == "[2, 4]" and milestones.isna().tolist() == [True, False, True]


def test_columns_are_picked_by_name_and_an_unknown_one_is_one_line(store):
    full = load(store).full()
    picked = select_columns(full, "n_val,run_id, config.recipe.lr")
    assert list(picked.columns) == ["n_val", "run_id", "config.recipe.lr"]
    assert select_columns(full, "all") is full
    with pytest.raises(UsageError) as error:
        select_columns(full, "run_id,n_tran")
    message = str(error.value)
    assert "\n" not in message and message.startswith(
        "unknown column 'n_tran' (did you mean n_train"
    )
    assert "valid: all, run_id, status" in message and "env.python_version" in message


def test_the_api_returns_the_same_frames(store):
    tables = load(store)
    pd.testing.assert_frame_equal(api.results(store), tables.full())
    pd.testing.assert_frame_equal(api.results(store, history=True), tables.full(history=True))
    assert list(api.results(store, columns=["run_id", "n_train"]).columns) == ["run_id", "n_train"]
