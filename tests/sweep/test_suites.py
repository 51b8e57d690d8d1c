"""Suites: the registry, planning a suite, suite membership in the store, `bench suites`."""

from __future__ import annotations

import io
import itertools
import json

import pandas as pd
import pytest

from bench.cli import main
from bench.config import UsageError, get_recipe
from bench.data import datasets, splits
from bench.report import variants
from bench.store import ResultsStore, load
from bench.sweep import sweep
from bench.sweep.suites import SUITES, get_suite, list_suites
from tests.helpers import quick_config


def test_the_registered_suites_are_the_source_comparisons():
    assert set(list_suites()) == {
        "mlp-vs-cnn",
        "mlp-baseline",
        "notebook-mlp-cnn",
        "fc-sweep",
        "digits-from-scratch",
        "lenet",
        "fc-depth-width",
        "robustness",
        "noise",
    }
    recap = get_suite("mlp-vs-cnn")
    assert recap.archs == ("mlp32", "tinycnn", "cnn", "strongcnn")
    assert (recap.recipe, recap.dataset) == ("adam-bs64-e5", "mnist")
    assert get_suite("digits-from-scratch").dataset == "digits"
    assert get_suite("notebook-mlp-cnn").lr_range.arch == "mnistcnn"
    assert all(s.lr_range is None for n, s in SUITES.items() if n != "notebook-mlp-cnn")


def test_the_noise_suite_plans_each_source_with_ten_seeds():
    from bench.cli.main import build_parser
    from bench.cli.run_command import study_from_args

    def sweep_configs(args):
        return study_from_args(args).plan().configs

    args = build_parser().parse_args(["run", "--suite", "noise", "--epochs", "1"])
    configs = sweep_configs(args)
    assert {c.arch for c in configs} == {"strongcnn"}
    by_vary = {v: sorted(c.seed for c in configs if c.vary == v) for v in {c.vary for c in configs}}
    assert by_vary == {v: list(range(10)) for v in ("init", "order", "dropout", "all")}
    assert len({c.run_id for c in configs}) == 40
    only = sweep_configs(build_parser().parse_args(["run", "--suite", "noise", "--vary", "init"]))
    assert {c.vary for c in only} == {"init"}
    assert get_suite("lenet").references[0].model == "lenet5"


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
    config = quick_config(epochs=1)
    first = sweep.run([config], store, suite="mlp-vs-cnn")
    again = sweep.run([config], store, suite="lenet")
    assert len(first.results) == 1 and again.already_done == 1  # trained once
    tables = load(tmp_path)
    assert sorted(tables.suite_runs.suite) == ["lenet", "mlp-vs-cnn"]
    assert len(tables.for_suite("lenet").runs) == 1
    assert tables.for_suite("fc-sweep").runs.empty


def test_bench_suites_lists_every_suite(capsys):
    assert main(["suites", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(table.name) == set(SUITES)
    assert set(table["from"]) == {"built-in"}  # --suite-file adds studies: test_suite_file.py
    row = table.set_index("name").loc["fc-sweep"]
    assert row.runs_per_seed == 15 and "batch_size {32, 64, 128}" in row.grid
    assert main(["suites", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(SUITES)


@pytest.mark.parametrize("columns", ["60", "100", "300"])
def test_bench_suites_on_a_terminal_is_a_block_per_suite_within_its_width(
    columns, monkeypatch, capsys
):
    """Every field of every suite, in lines no longer than the terminal (at most 120
    characters, at least 60): a suite's row in a table is hundreds of characters long."""
    monkeypatch.setenv("COLUMNS", columns)
    assert main(["suites"]) == 0
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= max(60, min(120, int(columns)))
    blocks = {block.split("  ")[0]: block for block in text.split("\n\n")}
    assert set(blocks) == set(SUITES)
    fc_sweep = " ".join(blocks["fc-sweep"].split())  # its lines joined again
    suite = SUITES["fc-sweep"]
    for field in (suite.description, suite.protocol_text(), suite.grid_text(), suite.source):
        assert " ".join(field.split()) in fc_sweep
    assert "runs per seed 15" in fc_sweep and "lr range test" in blocks["notebook-mlp-cnn"]


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


# --- protocols: each suite runs its source's protocol by default ---------------------------


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_suite_has_a_protocol_and_its_configs_use_it(name):
    suite = get_suite(name)
    protocol = suite.protocol
    assert protocol.train_images > 0 and protocol.selection and protocol.reason
    configs = sweep.plan_suite(suite, [0, 1], ["cpu"])
    assert {c.val_size for c in configs} == {protocol.val_size}
    # epochs, batch size and normalization are the recipe's, and the listing says them
    text = suite.protocol_text()
    for config in configs:
        assert f"{config.recipe.epochs} epochs" in text
        batch = config.recipe.batch_size
        assert ("full batch" in text) if batch is None else (str(batch) in text)
        assert config.recipe.normalize == get_recipe(suite.recipe).normalize
    assert protocol.selection in text and suite.training_text() in text


def test_suites_that_select_nothing_train_on_every_training_image():
    """Each source trained on its whole training set with a fixed number of epochs, except
    the notebook, whose LR range test needs a validation set (and says why)."""
    for name, suite in SUITES.items():
        if suite.lr_range is None:
            assert suite.protocol.val_size == 0 and suite.protocol.as_in_source, name
            assert suite.protocol_headline() == (
                f"as in the source: {suite.protocol.train_images:,} training images, no selection"
            )
    notebook = get_suite("notebook-mlp-cnn").protocol
    assert notebook.val_size is None and "LR range test" in notebook.reason
    assert "test set" in notebook.difference and "validation" in notebook.difference


@pytest.fixture(scope="module")
def dataset_images(mnist_root):
    return {name: datasets.load(name, mnist_root) for name in ("mnist", "digits")}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_planned_runs_train_on_the_protocols_number_of_images(name, dataset_images):
    """The split each planned run gets from the real dataset is the protocol's: mlp-vs-cnn's
    `bench run --suite mlp-vs-cnn --seeds 0-2` trains on all 60,000 MNIST images."""
    suite = get_suite(name)
    info = datasets.get_dataset_info(suite.dataset)
    for config in sweep.plan_suite(suite, [0, 1, 2], ["cpu"]):
        index = splits.split_indices(dataset_images[suite.dataset], info, config.val_size)
        held = suite.held_out()
        assert (len(index.train), len(index.val)) == (suite.protocol.train_images - held, held)
    if name == "mlp-vs-cnn":
        assert len(index.train) == 60_000 and len(index.val) == 0


def test_bench_run_suite_plans_the_protocol_and_val_size_overrides_it(tmp_path):
    from bench.cli.main import build_parser
    from bench.cli.run_command import study_from_args

    def planned(*extra):
        args = build_parser().parse_args(
            ["run", "--suite", "mlp-vs-cnn", "--seeds", "0-2", "--results", str(tmp_path), *extra]
        )
        return study_from_args(args).plan().configs

    default, override = planned(), planned("--val-size", "10000")
    assert len(default) == 12 and {c.val_size for c in default} == {0}
    assert {c.val_size for c in override} == {10_000}
    assert not {c.run_id for c in default} & {c.run_id for c in override}
    keys = [variants.variant_key(c.to_json()) for c in default + override if c.arch == "cnn"]
    assert set(variants.labels(keys).values()) == {"cnn (val_size=0)", "cnn (val_size=10000)"}


def test_the_notebook_refuses_val_size_0_before_anything_runs(tmp_path, capsys):
    results = tmp_path / "R"
    code = main(
        ["run", "--suite", "notebook-mlp-cnn", "--val-size", "0", "--results", str(results)]
    )
    assert code == 2 and "drop --val-size 0" in capsys.readouterr().err
    assert not results.exists()


def test_bench_suites_lists_each_protocol(capsys):
    assert main(["suites", "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("name")
    recap = table.loc["mlp-vs-cnn", "protocol"]
    assert recap.startswith("60,000 training images, no validation set, 5 epochs, batch 64")
    assert "selects nothing" in recap
    notebook = table.loc["notebook-mlp-cnn", "protocol"]
    assert notebook.startswith("50,000 training images + 10,000 for validation")
    assert "learning rate, on validation loss" in notebook
    assert "1,437 training images" in table.loc["digits-from-scratch", "protocol"]
    assert "batch 32/64/128" in table.loc["fc-sweep", "protocol"]


plan_suite = sweep.plan_suite


def test_grid_points_may_set_architecture_arguments():
    suite = SUITES["fc-depth-width"]
    configs = plan_suite(suite, [0], ["cpu"])
    hidden = [json.loads(c.arch_kwargs)["hidden"] for c in configs]
    assert hidden[:3] == [[128], [256], [512]] and hidden[-1] == [512, 512, 512]
    assert len({c.run_id for c in configs}) == 9
    assert {c.recipe for c in configs} == {get_recipe("sgd-lr1e-3-bs64-e20")}
    fc = SUITES["fc-sweep"]  # a grid of recipe values only plans as it always did
    before = [
        c
        for r in fc.recipes()
        for c in sweep.plan(fc.archs, fc.dataset, r, [0], ["cpu"], val_size=fc.protocol.val_size)
    ]
    assert [c.run_id for c in plan_suite(fc, [0], ["cpu"])] == [c.run_id for c in before]


def test_robustness_suite_crosses_two_cnns_with_augmentation_and_label_smoothing():
    configs = plan_suite(SUITES["robustness"], [0], ["cpu"])
    cells = {(c.arch, c.recipe.augment, c.recipe.label_smoothing) for c in configs}
    assert cells == {
        (arch, augment, smoothing)
        for arch in ("mnistcnn", "lenet5")
        for augment in ("none", "affine+elastic")
        for smoothing in (0.0, 0.1)
    }
