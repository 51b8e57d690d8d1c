"""A user's dataset file changed or deleted after its runs, or a deleted model file, does not
block the report: it reports the stored numbers and says which checkpoint evaluations could
not be redone and why. And ``bench report --suite NAME`` reports a study run from
``--suite-file`` from the store's suite membership alone."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from architectures import registry
from bench.cli import main
from bench.config import usercode
from bench.data import datasets, userdata
from bench.sweep import suites
from tests.report.rendering import undrawn_figures  # noqa: F401  (fixture)
from tests.usercode_helpers import (
    clean_registries,  # noqa: F401  (fixture)
    write,
    write_mynet,
    write_npz,
)

# the reports are read for their text and figure links (tests/report/rendering.py)
pytestmark = pytest.mark.usefixtures("clean_registries", "undrawn_figures")
QUICK = ["--epochs", "1", "--threads", "1", "--quiet"]
NOT_REDONE = "## Checkpoint evaluations not redone"


def forget_user_files() -> None:
    """As in a new process: no user dataset or architecture loaded (this one keeps them)."""
    for name, info in list(registry._REGISTRY.items()):
        if not usercode.is_builtin(info):
            del registry._REGISTRY[name]
    for name in list(userdata.SOURCES):
        datasets.DATASETS.pop(name, None)
    userdata.SOURCES.clear()
    userdata._DIGESTS.clear()
    datasets._load_cached.cache_clear()


def report(results: Path, capsys) -> str:
    forget_user_files()
    out = results / "report.md"
    code = main(["report", "--results", str(results), "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    return out.read_text()


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


@pytest.mark.slow
def test_a_changed_or_missing_user_file_costs_its_evaluations_not_the_report(tmp_path, capsys):
    model = write_mynet(tmp_path / "code")
    (tmp_path / "data").mkdir()
    data = write_npz(tmp_path / "data" / "digits4.npz")
    results = tmp_path / "R"
    args = ["run", "--arch", f"{model}:MyNet", "slp", "--dataset", str(data), "--seeds", "0"]
    assert main([*args, *QUICK, "--results", str(results)]) == 0
    fresh = tmp_path / "fresh"  # the store before any report stored its evaluations
    shutil.copytree(results, fresh)

    # the dataset file changed since its runs (no evaluation stored yet)
    original = data.read_bytes()
    write_npz(data, seed=11)
    text = report(results, capsys)
    assert "| MyNet" in text and "| slp" in text  # the stored numbers, as recorded
    listed = section(text, NOT_REDONE)
    assert listed.count("confusion matrix, sample predictions") == 2
    assert "rotated" not in listed  # an npz's protocol does not ask for the rotated test set
    assert "dataset digits4.npz differs from the run's" in listed and str(data) in listed
    assert "| 0 " in listed  # the seeds
    assert "Left out: the confusion matrix of `MyNet`" in text
    # a built-in model on a 4-class dataset is built with 4 outputs: the dataset's class
    # count, which its label need not repeat
    assert "Left out: the sample predictions of `slp`" in text
    assert "Rotated ±15° acc" not in text  # nothing to show, rather than made up

    # restored: everything is evaluated (and stored); then the file is deleted
    data.write_bytes(original)
    text = report(results, capsys)
    assert NOT_REDONE not in text and "Left out" not in text
    data.unlink()
    text = report(results, capsys)
    listed = section(text, NOT_REDONE)
    assert listed.count("sample predictions (the rest was stored before)") == 2
    assert f"the file of dataset digits4.npz is gone ({data} does not exist)" in listed
    assert "confusion_mynet.png" in text  # from the store
    assert "Left out: the sample predictions of `MyNet`" in text

    # the model file deleted: the checkpoint's stored code rebuilds it
    data.write_bytes(original)
    model.unlink()
    text = report(fresh, capsys)
    assert NOT_REDONE not in text and "Left out" not in text
    assert "predictions_mynet.png" in text and "Rotated ±15° acc" not in text
    with contextlib.closing(sqlite3.connect(fresh / "archbench.sqlite")) as conn:
        names = {row[0] for row in conn.execute("SELECT DISTINCT name FROM evaluations")}
    assert names == {"test"}  # no rotated test set: the npz's protocol does not ask for it


def test_report_suite_names_a_study_file_suite_from_the_store(tmp_path, capsys):
    study = write(
        tmp_path / "study.toml",
        """
        name = "two-linear"
        archs = ["slp"]
        dataset = "synthetic"
        seeds = "0-1"
    """,
    )
    results = tmp_path / "R"
    assert main(["run", "--suite-file", str(study), *QUICK, "--results", str(results)]) == 0
    assert (
        main(
            ["run", "--arch", "mlp32", "--dataset", "synthetic", *QUICK, "--results", str(results)]
        )
        == 0
    )
    suites.SUITES.pop("two-linear")  # as in a new process: only the store knows it
    out = tmp_path / "report.md"
    args = ["report", "--suite", "two-linear", "--results", str(results), "--out", str(out)]
    assert main([*args, "--quiet"]) == 0, capsys.readouterr().err
    text = out.read_text()
    assert text.startswith("# archbench report: two-linear")
    assert "| slp" in text and "mlp32" not in text  # only the suite's runs
    assert main(["report", "--suite", "two-linar", "--results", str(results), "--quiet"]) == 2
    assert "closest: two-linear" in capsys.readouterr().err
