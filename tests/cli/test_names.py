"""Names that say what differs: the progress lines of a grid, `bench results`' columns for the
settings that vary and its `recipe` column, `--name`, and labels that show what differs among
the models shown and nothing else."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from dataclasses import replace

import pytest

from bench.cli.main import main
from bench.config import RunConfig, UsageError, get_recipe, naming
from bench.report import variants
from tests.helpers import quick_config
from tests.report.rendering import undrawn_figures  # noqa: F401  (fixture)
from tests.usercode_helpers import registries_restored, write

QUICK = ["--limit-train", "200", "--limit-test", "50", "--device", "cpu", "--threads", "1"]


def run_main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A 2x2 lr x batch-size study of slp, one seed: its store and its progress lines."""
    root = tmp_path_factory.mktemp("names")
    study = write(
        root / "grid.toml",
        """
        name = "lr-by-batch"
        archs = ["slp"]
        dataset = "synthetic"
        recipe = "adam-bs64-e5"
        seeds = [0]

        [overrides]
        epochs = 1

        [grid]
        lr = [0.01, 0.1]
        batch_size = [32, 64]
        """,
    )
    results = root / "results"
    with registries_restored():
        code, out, err = run_main(
            "run", "--suite-file", str(study), "--results", str(results), *QUICK
        )
    assert code == 0, err
    return results, out, err


def test_progress_lines_of_a_grid_name_lr_and_batch_size(grid):
    _, out, err = grid
    finished = [line for line in err.splitlines() if ": ok: test_acc" in line]
    labels = [line.split("] ", 1)[1].split(": ok:")[0] for line in finished]
    assert sorted(labels) == [
        "slp (lr=0.01, batch_size=32) seed=0",
        "slp (lr=0.01, batch_size=64) seed=0",
        "slp (lr=0.1, batch_size=32) seed=0",
        "slp (lr=0.1, batch_size=64) seed=0",
    ]
    # the closing table of bench run has the columns too
    header = next(line for line in out.splitlines() if "run_id" in line)
    assert "lr" in header.split() and "batch_size" in header.split()


def test_results_has_a_column_per_varying_setting_and_the_recipe_used(grid):
    results, _, _ = grid
    code, out, _ = run_main("results", "--results", str(results), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert {(row["lr"], row["batch_size"]) for row in rows} == {
        (0.01, 32),
        (0.01, 64),
        (0.1, 32),
        (0.1, 64),
    }
    assert "epochs" not in rows[0] and "limit_train" not in rows[0]  # the same in every run
    recipes = {(row["lr"], row["batch_size"]): row["recipe"] for row in rows}
    assert recipes[(0.01, 32)] == "adam-bs64-e5 (lr=0.01, batch_size=32, epochs=1)"
    assert recipes[(0.1, 64)] == "adam-bs64-e5 (lr=0.1, epochs=1)"


def test_report_labels_of_the_grid_say_lr_and_batch_size(grid):
    results, _, _ = grid
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        configs = [row[0] for row in conn.execute("SELECT config_json FROM runs")]
    names = variants.labels([variants.variant_key(text) for text in configs])
    assert sorted(names.values()) == [
        "slp (lr=0.01, batch_size=32)",
        "slp (lr=0.01, batch_size=64)",
        "slp (lr=0.1, batch_size=32)",
        "slp (lr=0.1, batch_size=64)",
    ]


def test_the_recipe_text_is_the_recipe_actually_used():
    fields = naming.flat_fields(quick_config(epochs=1, batch_size=32))
    assert naming.recipe_text(fields) == "adam-bs64-e5 (batch_size=32, epochs=1)"
    plain = RunConfig("mlp32", "mnist", get_recipe("adam-bs64-e5"), 0)
    assert naming.recipe_text(naming.flat_fields(plain)) == "adam-bs64-e5"
    full = RunConfig("slp", "synthetic", replace(get_recipe("adam-bs64-e5"), batch_size=None), 0)
    assert naming.recipe_text(naming.flat_fields(full)) == "adam-bs64-e5 (batch_size=full)"


def labels_of(*configs: RunConfig) -> list[str]:
    keys = [variants.variant_key(config.to_json()) for config in configs]
    names = variants.labels(keys)
    return [names[key] for key in keys]


def test_labels_show_only_the_settings_that_differ_among_the_models_shown():
    # same recipe and data: the architectures alone
    assert labels_of(quick_config("mlp32"), quick_config("cnn")) == ["mlp32", "cnn"]
    # one setting differs: every model says its value, even the only one of its architecture
    assert labels_of(
        quick_config("mlp32", epochs=1), quick_config("mlp32", epochs=2), quick_config("cnn")
    ) == ["mlp32 (epochs=1)", "mlp32 (epochs=2)", "cnn (epochs=2)"]
    # two datasets: every label names its dataset; what only rounds (threads) names nothing
    assert labels_of(
        quick_config("mlp32", threads=1), quick_config("mlp32", dataset="mnist", threads=2)
    ) == ["mlp32 (dataset=synthetic)", "mlp32 (dataset=mnist)"]
    # a limit given to one and not the other: "all", never "default"
    assert labels_of(quick_config("mlp32", limit_train=100), quick_config("mlp32")) == [
        "mlp32 (limit_train=100)",
        "mlp32 (limit_train=all)",
    ]


def test_user_code_is_named_by_its_hash_only_beside_another_version():
    source = json.dumps({"path": "/p/models.py", "sha256": "a" * 64, "code_sha256": "b" * 64})
    other = json.dumps({"path": "/p/models.py", "sha256": "c" * 64, "code_sha256": "d" * 64})
    mine = quick_config("MyNet", arch_source=source)
    assert labels_of(mine, quick_config("cnn")) == ["MyNet", "cnn"]
    edited = quick_config("MyNet", arch_source=other)
    assert labels_of(mine, edited, quick_config("cnn")) == [
        "MyNet (code of models.py bbbbbbbb)",
        "MyNet (code of models.py dddddddd)",
        "cnn",
    ]
    # the same class in a file that changed elsewhere: one variant, one run
    same_code = quick_config("MyNet", arch_source=source.replace("a" * 64, "e" * 64))
    assert variants.variant_key(mine.to_json()) == variants.variant_key(same_code.to_json())
    assert mine.run_id == same_code.run_id


def test_a_name_replaces_the_architecture_in_labels_and_is_part_of_the_run():
    named = quick_config("mlp32", name="wide one")
    assert labels_of(named, quick_config("cnn")) == ["wide one", "cnn"]
    assert named.run_id != quick_config("mlp32").run_id
    assert quick_config("mlp32", name="").run_id == quick_config("mlp32").run_id  # old ids kept
    two = labels_of(quick_config("mlp32", name="base"), quick_config("cnn", name="base"))
    assert two == ["base (arch=mlp32)", "base (arch=cnn)"]


@pytest.mark.parametrize(
    "name, problem",
    [
        ("", "non-empty"),
        ("x" * 65, "at most 64"),
        ("red\x1b[31m", "control character"),
        (" padded", "leading or trailing space"),
    ],
)
def test_a_bad_name_is_one_line_and_exit_2(tmp_path, name, problem):
    results = tmp_path / "results"
    args = ["run", "--arch", "slp", "--dataset", "synthetic", "--name", name]
    code, _, err = run_main(*args, "--results", str(results), *QUICK)
    assert code == 2 and problem in err and len(err.strip().splitlines()) == 1
    assert not results.exists()
    if name:
        with pytest.raises(UsageError, match=problem):
            quick_config(name=name).validate()


@pytest.mark.usefixtures("undrawn_figures")  # the report's text is read (tests/report/rendering.py)
def test_run_name_is_stored_shown_by_results_and_escaped_in_the_report(tmp_path):
    results = tmp_path / "results"
    name = "wide *v2* | `x`"
    base = ["run", "--arch", "slp", "--dataset", "synthetic", "--epochs", "1"]
    with registries_restored():
        code, _, err = run_main(*base, "--name", name, "--results", str(results), *QUICK)
        assert code == 0, err
        assert ": ok: test_acc" in err and f"{name} seed=0: ok" in err
        assert run_main(*base, "--results", str(results), *QUICK)[0] == 0
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        rows = conn.execute("SELECT name, config_json FROM runs").fetchall()
    stored = sorted(rows, key=lambda row: row[0] is not None)
    assert [row[0] for row in stored] == [None, name]
    assert json.loads(stored[1][1])["name"] == name and "name" not in json.loads(stored[0][1])
    code, out, _ = run_main("results", "--results", str(results), "--format", "json")
    assert sorted(str(row["name"]) for row in json.loads(out)) == ["", name]
    code, _, _ = run_main("report", "--results", str(results), "--quiet")
    report = (results / "report.md").read_text()
    assert code == 0 and "wide \\*v2\\* \\| \\`x\\`" in report
    # escaped as text, or literal inside a code span: never emphasis or a table's "|"
    assert "*v2*" not in report.replace("\\*v2\\*", "").replace(f"`` {name} ``", "")


def test_the_seeds_of_one_model_share_its_label_in_the_progress_lines():
    """Main told the seeds of one model apart as `cnn #1 seed=0`, `cnn #2 seed=1`."""
    configs = [quick_config("cnn", seed=s) for s in (0, 1)] + [quick_config("mlp32", seed=0)]
    assert list(naming.run_labels(configs).values()) == ["cnn seed=0", "cnn seed=1", "mlp32 seed=0"]
    lr = [quick_config("cnn", seed=s, lr=v) for s in (0, 1) for v in (0.01, 0.1)]
    assert list(naming.run_labels(lr).values()) == [
        "cnn (lr=0.01) seed=0",
        "cnn (lr=0.1) seed=0",
        "cnn (lr=0.01) seed=1",
        "cnn (lr=0.1) seed=1",
    ]


def test_the_recipe_column_never_names_the_variant_and_labels_leave_out_the_class_count():
    named = naming.flat_fields(quick_config("cnn", name="mine", epochs=1))
    assert naming.recipe_text(named) == "adam-bs64-e5 (epochs=1)"
    four = naming.flat_fields(quick_config("slp", arch_kwargs='{"num_classes":4}'))
    assert naming.arch_name(four) == "slp"
    wide = naming.flat_fields(quick_config("mlp", arch_kwargs='{"hidden":[8],"num_classes":4}'))
    assert naming.arch_name(wide) == 'mlp{"hidden":[8]}'
