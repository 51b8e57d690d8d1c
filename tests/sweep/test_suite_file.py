"""A study in a TOML file: planned like a suite, recorded as one, reported as one."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path

import pytest

from bench.cli import main
from tests.report.rendering import undrawn_figures  # noqa: F401  (fixture)
from tests.usercode_helpers import clean_registries, write, write_mynet  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("clean_registries")


@pytest.mark.usefixtures("undrawn_figures")  # the reports' text is read (tests/report/rendering.py)
@pytest.mark.slow
def test_a_study_file_runs_and_reports_as_a_suite(tmp_path):
    write_mynet(tmp_path / "study")
    study = write(
        tmp_path / "study" / "study.toml",
        """
        name = "mynet-vs-slp"
        description = "My net against a softmax layer"
        archs = ["./models.py:MyNet", "slp"]
        dataset = "synthetic"
        recipe = "adam-bs64-e5"
        seeds = "0-1"

        [overrides]
        epochs = 1

        [grid]
        lr = [0.001, 0.003]
    """,
    )
    results = tmp_path / "results"
    args = [
        "--results",
        str(results),
        "--limit-train",
        "300",
        "--limit-test",
        "100",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--quiet",
    ]
    assert main(["run", "--suite-file", str(study), *args]) == 0
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        runs = conn.execute("SELECT arch, seed, config_json FROM runs").fetchall()
        members = conn.execute("SELECT DISTINCT suite FROM suite_runs").fetchall()
    assert len(runs) == 2 * 2 * 2  # archs x seeds x grid points
    assert members == [("mynet-vs-slp",)]
    assert all('"epochs": 1' in config for _, _, config in runs)
    # a fresh report knows the suite from the store; with the file, its description too
    assert main(["report", "--suite", "mynet-vs-slp", "--results", str(results), "--quiet"]) == 0
    assert main(["report", "--suite-file", str(study), "--results", str(results), "--quiet"]) == 0
    report = (results / "report.md").read_text()
    assert report.startswith("# archbench report: mynet-vs-slp")
    assert "My net against a softmax layer" in report


def test_a_study_file_with_its_own_data_keeps_the_data_hash(tmp_path):
    from bench.sweep import suite_file, sweep
    from tests.usercode_helpers import write_npz

    write_npz(tmp_path / "d.npz", classes=3)
    study = write(tmp_path / "s.toml", 'archs = ["slp"]\ndataset = "./d.npz"\nseeds = [0, 2]\n')
    suite, seeds = suite_file.load(study)
    assert (suite.name, suite.dataset, seeds) == ("s", "d.npz", [0, 2])
    configs = sweep.plan_suite(suite, seeds, ["cpu"], threads=1)
    assert {c.dataset for c in configs} == {"d.npz"}
    assert all(str(tmp_path / "d.npz") in c.dataset_source for c in configs)


# --- one schema: the built-in suites' files and the user's ---------------------------------


def readme_study() -> str:
    """The study example of docs/guides/suites-and-studies.md, "A study in a file"."""
    readme = (ROOT / "docs/guides/suites-and-studies.md").read_text()
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", readme, flags=re.S) if "archs =" in b]
    return block


def test_the_readmes_example_shows_every_key_and_loads(tmp_path):
    from bench.sweep import suite_file, suite_schema

    text = readme_study()
    keys = set(re.findall(r"^\[*(\w+)\]*", text, flags=re.M))
    assert set(suite_schema.KEYS) <= keys
    fields = suite_schema.PROTOCOL_KEYS + suite_schema.LR_RANGE_KEYS + suite_schema.REFERENCE_KEYS
    assert all(re.search(rf"\b{name}\b", text) for name in fields)
    write_mynet(tmp_path)
    suite, seeds = suite_file.load(write(tmp_path / "study.toml", text))
    assert (suite.name, suite.archs, seeds) == ("mynet-vs-cnn", ("MyNet", "cnn"), [0, 1, 2, 3, 4])
    assert suite.vary == ("init", "all") and suite.lr_range.arch == "cnn"
    assert suite.protocol.val_size == 10_000 and suite.references[0].value == 0.99
    assert suite.origin == str((tmp_path / "study.toml").resolve())
    assert suite.source == "What it reproduces"


def test_a_copy_of_a_built_in_suites_file_is_the_same_study(tmp_path):
    """Everything a built-in suite has (source, protocol, LR range test, vary, seeds,
    references) reads the same from the user's file."""
    from bench.sweep import suite_file, suites

    for name in ("notebook-mlp-cnn", "noise", "lenet", "fc-depth-width"):
        text = (ROOT / "bench/sweep/builtin_suites" / f"{name}.toml").read_text()
        path = write(tmp_path / f"my-{name}.toml", text.replace(f'"{name}"', f'"my-{name}"'))
        mine, _ = suite_file.load(path)
        builtin = suites.get_suite(name)
        assert mine == dataclasses.replace(builtin, name=f"my-{name}", origin=str(path.resolve()))


def test_a_study_without_a_source_is_described_by_its_file(tmp_path):
    from bench.sweep import suite_file

    suite, seeds = suite_file.load(write(tmp_path / "s.toml", 'archs = ["slp"]\n'))
    assert suite.source == suite.origin == str((tmp_path / "s.toml").resolve())
    assert suite.protocol is None and suite.vary == () and seeds is None
    assert suite.protocol_text().endswith("; no source protocol")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('archs = ["cnn"]\nepochz = 3\n', "unknown key(s) 'epochz'; valid keys: name,"),
        ('archs = ["cnn"]\n[overrides]\nlearning_rate = 0.1\n', "recipe has no field 'lea"),
        ('archs = "cnn"\n', "'archs' must be a non-empty list of names or FILE.py:NAME"),
        ('name = "x"\n', "missing 'archs' (a list of architectures)"),
        ('archs = ["cnn"]\n[grid]\nlr = 0.1\n', "grid.lr must be a non-empty list of values"),
        ('archs = ["cnn"]\nseeds = 3\n', "seeds must be a string like '0-4' or a list"),
        ('archs = ["cnn"]\noverrides = 3\n', "'overrides' must be a table ([overrides])"),
        ('archs = ["cnn"]\nname = "mlp-vs-cnn"\n', "'mlp-vs-cnn' is taken by MLP vs CNN recap"),
        ('archs = ["cnn"]\nvary = ["init", "weights"]\n', "'vary' must be a list of distinct"),
        (
            'archs = ["cnn"]\n[protocol]\ntrain_images = 60000\nselection = "x"\n',
            "[protocol] is missing 'reason' (it needs train_images, selection, reason)",
        ),
        (
            'archs = ["cnn"]\n[protocol]\ntrain_images = 6e4\nselection = "x"\nreason = "y"\n',
            "protocol.train_images must be an integer >= 1, got 60000.0",
        ),
        ('archs = ["cnn"]\n[protocol]\nval = 0\n', "[protocol] has no field 'val'; valid"),
        ('archs = ["cnn"]\n[lr_range]\narch = "mlp32"\n', "lr_range.arch 'mlp32' is not one"),
        (
            'archs = ["cnn"]\n[lr_range]\narch = "cnn"\nlr_min = 0.1\nlr_max = 0.01\n',
            "[lr_range] needs 0 < lr_min < lr_max, got 0.1 and 0.01",
        ),
        (
            'archs = ["cnn"]\n[lr_range]\narch = "cnn"\n[protocol]\ntrain_images = 60000\n'
            'val_size = 0\nselection = "x"\nreason = "y"\n',
            "no images are held out",
        ),
        (
            'archs = ["cnn"]\n[[references]]\nmodel = "cnn"\nmetric = "loss"\nvalue = 0.1\n'
            'source = "z"\n',
            "references.metric 'loss' is not one of test_acc",
        ),
        (
            'archs = ["cnn"]\n[[references]]\nmodel = "cnn"\nmetric = "test_acc"\nvalue = 101\n'
            'source = "z"\n',
            "is not an accuracy (a fraction like 0.985",
        ),
        ('archs = ["cnn"]\nsource = 3\n', "'source' must be a text in quotes, got 3"),
        ('archs = ["cnn"]\ndescription = 3\n', "'description' must be a text in quotes, got 3"),
        ('archs = ["cnn"]\nname = 5\n', "'name' must be a text in quotes, got 5"),
        (
            'archs = ["cnn"]\nname = "ev\\u001b[2Jil"\n',
            "name 'ev\\x1b[2Jil' must be 1 to 200 print",
        ),
        ('archs = ["cnn"]\nname = " padded"\n', "name ' padded' must be 1 to 200 printable"),
        ('archs = ["cnn"]\nname = ""\n', "the suite's name '' must be 1 to 200 printable"),
        (f'archs = ["cnn"]\nname = "{"x" * 201}"\n', "must be 1 to 200 printable characters"),
        ('archs = ["cnn"]\n[overrides]\nepochs = "one"\n', "[overrides] epochs must be an intege"),
        ('archs = ["cnn"]\n[overrides]\nepochs = 2.0\n', "epochs must be an integer, got 2.0"),
        ('archs = ["cnn"]\n[overrides]\nlr = true\n', "[overrides] lr must be a number, got T"),
        ('archs = ["cnn"]\n[overrides]\nlr = inf\n', "lr: inf is refused: --lr must be a fini"),
        ('archs = ["cnn"]\n[overrides]\nepochs = 0\n', "epochs: 0 is refused: --epochs must be"),
        ('archs = ["cnn"]\n[grid]\nlr = [0.001, "x"]\n', "each value in grid.lr must be a numbe"),
        ('archs = ["cnn"]\n[grid]\nschedule = [1]\n', "grid.schedule must be a text, got 1"),
        ('archs = ["cnn"]\n[grid]\nnesterov = [1]\n', "grid.nesterov must be true or false"),
        ('archs = ["mlp"]\n[grid]\nhidden = [[nan]]\n', "grid.hidden value [nan] is not an ar"),
        ('archs = ["mlp"]\n[grid]\nwhen = [1979-05-27]\n', "grid.when value datetime.date(1979"),
    ],
)
def test_a_bad_study_file_is_one_line_that_names_it(tmp_path, text, expected):
    from bench.config import UsageError
    from bench.sweep import suite_file, suites

    before = dict(suites.SUITES)
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(UsageError) as error:
        suite_file.load(path)
    message = str(error.value)
    assert expected in message and str(path) in message and "\n" not in message
    after = dict(suites.SUITES)
    assert after == before  # nothing registered


def test_bench_suites_lists_study_files_beside_the_built_in_suites(tmp_path, capsys):
    import io

    import pandas as pd

    write_mynet(tmp_path)
    one = write(
        tmp_path / "one.toml", 'archs = ["./models.py:MyNet", "cnn"]\n[grid]\nlr = [1, 2]\n'
    )
    two = write(tmp_path / "two.toml", 'name = "two"\narchs = ["slp"]\nvary = ["init", "all"]\n')
    args = ["suites", "--suite-file", str(one), "--suite-file", str(two), "--format", "csv"]
    assert main(args) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("name")
    assert table.loc["one", "from"] == str(one.resolve()) == table.loc["one", "source"]
    assert table.loc["one", "archs"] == "MyNet, cnn" and table.loc["one", "runs_per_seed"] == 4
    assert table.loc["two", "runs_per_seed"] == 2
    assert "10,000 for validation" in table.loc["two", "protocol"]
    assert (table.drop(["one", "two"])["from"] == "built-in").all()
    assert main(["suites", "--suite-file", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such suite file" in err


def test_a_study_file_holds_data_options_at_the_top_and_as_grid_axes(tmp_path):
    """``limit_train`` and the other data options of ``bench run`` in a study file: every
    run gets them, a grid may vary them, and the command line's flags win."""
    from bench.sweep import Study

    study = write(
        tmp_path / "data.toml",
        """
        archs = ["slp"]
        dataset = "synthetic"
        seeds = [0]
        limit_test = 100
        val_size = 50

        [grid]
        limit_train = [200, 400]
        lr = [0.001, 0.01]
    """,
    )
    configs = Study(suite_file=study, device="cpu").plan().configs
    assert sorted((c.limit_train, c.recipe.lr) for c in configs) == [
        (200, 0.001),
        (200, 0.01),
        (400, 0.001),
        (400, 0.01),
    ]
    assert {(c.limit_test, c.val_size) for c in configs} == {(100, 50)}
    given = Study(suite_file=study, device="cpu", limit_train=300, limit_test=80).plan().configs
    assert {(c.limit_train, c.limit_test) for c in given} == {(300, 80)}
    assert len(given) == 2  # the two limit_train points are one now: planned once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('archs = ["cnn"]\nlimit_train = 0\n', "limit_train = 0: --limit-train must be >= 1"),
        ('archs = ["cnn"]\nlimit_test = "all"\n', "--limit-test must be an integer, got 'all'"),
        ('archs = ["cnn"]\nval_size = -1\n', "val_size = -1: --val-size must be >= 0"),
        ('archs = ["cnn"]\nlimit_train = 1e3\n', "--limit-train must be an integer, got 1000.0"),
        ('archs = ["cnn"]\n[grid]\nlimit_train = [100, 0]\n', "grid.limit_train = 0: --limit-tr"),
        ('archs = ["cnn"]\n[grid]\nval_size = [true]\n', "grid.val_size = True: --val-size must"),
        (
            'archs = ["cnn"]\nval_size = 0\n[protocol]\ntrain_images = 60000\nval_size = 0\n'
            'selection = "x"\nreason = "y"\n',
            "val_size is given twice (at the top and in [protocol]): keep one",
        ),
        (
            'archs = ["cnn"]\n[lr_range]\narch = "cnn"\n[grid]\nval_size = [0, 5000]\n',
            "no images are held out for validation: set val_size above 0",
        ),
    ],
)
def test_a_bad_data_option_in_a_study_file_is_refused_as_bench_run_refuses_it(
    tmp_path, text, expected
):
    from bench.config import UsageError
    from bench.sweep import suite_file

    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(UsageError) as error:
        suite_file.load(path)
    message = str(error.value)
    assert expected in message and str(path) in message and "\n" not in message
