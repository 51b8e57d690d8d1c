"""A study in a TOML file: planned like a suite, recorded as one, reported as one."""

from __future__ import annotations

import sqlite3

import pytest

from bench.cli import main
from tests.usercode_helpers import clean_registries, write, write_mynet  # noqa: F401

pytestmark = pytest.mark.usefixtures("clean_registries")


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
    args = ["--results", str(results), "--limit-train", "300", "--limit-test", "100",
            "--device", "cpu", "--threads", "1", "--quiet"]  # fmt: skip
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
