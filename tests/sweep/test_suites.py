"""Suites: the registry, planning a suite, suite membership in the store, `bench suites`."""

from __future__ import annotations

import io
import itertools
import json

import pandas as pd
import pytest

from bench.cli import main
from bench.config import UsageError
from bench.store import ResultsStore, load
from bench.sweep import sweep
from bench.sweep.suites import SUITES, get_suite, list_suites
from bench.train import SweepProgress
from tests.helpers import quick_config


def test_the_registered_suites_are_the_source_comparisons():
    assert set(list_suites()) == {
        "mlp-vs-cnn", "mlp-baseline", "notebook-mlp-cnn", "fc-sweep", "digits-from-scratch",
        "lenet",
    }  # fmt: skip
    recap = get_suite("mlp-vs-cnn")
    assert recap.archs == ("mlp32", "tinycnn", "cnn", "strongcnn")
    assert (recap.recipe, recap.dataset) == ("adam-bs64-e5", "mnist")
    assert get_suite("digits-from-scratch").dataset == "digits"
    assert get_suite("notebook-mlp-cnn").lr_range.arch == "mnistcnn"
    assert all(s.lr_range is None for n, s in SUITES.items() if n != "notebook-mlp-cnn")


def test_unknown_suite_names_the_closest():
    with pytest.raises(UsageError, match="unknown suite 'mlp-vs-cn'; closest: mlp-vs-cnn"):
        get_suite("mlp-vs-cn")


def test_fc_sweep_plans_the_lr_by_batch_grid_and_overrides_apply_on_top():
    suite = get_suite("fc-sweep")
    configs = sweep.plan_suite(suite, [0, 1], ["cpu"])
    assert len(configs) == 30 and len({c.run_id for c in configs}) == 30
    grid = {(c.recipe.lr, c.recipe.batch_size) for c in configs}
    assert {lr for lr, _ in grid} == {1e-3, 3e-3, 1e-2, 3e-2, 1e-1}
    assert {bs for _, bs in grid} == {32, 64, 128}
    assert {c.recipe.optimizer for c in configs} == {"sgd"}
    quick = sweep.plan_suite(suite, [0], ["cpu"], overrides={"epochs": 1, "lr": None})
    assert len(quick) == 15 and {c.recipe.epochs for c in quick} == {1}
    assert not {c.run_id for c in quick} & {c.run_id for c in configs}  # new run ids
    one_lr = sweep.plan_suite(suite, [0], ["cpu"], overrides={"lr": 0.05})
    assert len(one_lr) == 3  # the override replaces the grid's lr: equal points merge


def test_lr_range_grid_is_logarithmic():
    lrs = get_suite("notebook-mlp-cnn").lr_range.lrs()
    assert lrs[0] == 1e-4 and lrs[-1] == 1e-1 and 1e-3 in lrs and len(lrs) == 10
    assert lrs == sorted(lrs)
    ratios = [b / a for a, b in itertools.pairwise(lrs)]
    assert max(ratios) / min(ratios) < 1.01


def test_a_run_shared_by_two_suites_belongs_to_both(tmp_path):
    store = ResultsStore(tmp_path)
    quiet = SweepProgress(enabled=False)
    config = quick_config(epochs=1)
    first = sweep.run([config], store, progress=quiet, suite="mlp-vs-cnn")
    again = sweep.run([config], store, progress=quiet, suite="lenet")
    assert len(first.results) == 1 and again.already_done == 1  # trained once
    tables = load(tmp_path)
    assert sorted(tables.suite_runs.suite) == ["lenet", "mlp-vs-cnn"]
    assert len(tables.for_suite("lenet").runs) == 1
    assert tables.for_suite("fc-sweep").runs.empty


def test_bench_suites_lists_every_suite(capsys):
    assert main(["suites", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(table.name) == set(SUITES)
    row = table.set_index("name").loc["fc-sweep"]
    assert row.runs_per_seed == 15 and "batch_size {32, 64, 128}" in row.grid
    assert main(["suites", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(SUITES)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--suite", "mlp-vs-cnn", "--arch", "cnn"], "drop --arch"),
        (["--suite", "mlp-vs-cnn", "--recipe", "adam-bs128-e10"], "drop --recipe"),
        (["--suite", "nosuch"], "unknown suite 'nosuch'"),
        ([], "--suite NAME"),
    ],
)
def test_run_suite_refuses_conflicting_flags_with_one_line(tmp_path, capsys, args, expected):
    results = tmp_path / "R"
    assert main(["run", *args, "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
    assert not results.exists()


def test_noxfile_has_a_session_for_every_suite():
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[2] / "noxfile.py").read_text())
    (value,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SUITES"
    ]
    assert sorted(ast.literal_eval(value)) == list_suites()
