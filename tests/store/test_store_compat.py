"""A results store written by an earlier archbench stays readable, gives the same report, and
its runs give the same numbers when trained again.

``tests/fixtures/store-v0.1`` was written by archbench 0.1 before the code moved into one
subpackage per step: four synthetic runs (``bench run --arch mlp32 tinycnn --dataset synthetic
--seeds 0-1 --epochs 2 --threads 1``) with their checkpoints, and the report that code wrote
from them (its results path replaced by ``{RESULTS}``)."""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.helpers import bench_main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store-v0.1"
WRITTEN_AT = "/tmp/fx/store"  # where the fixture's runs were recorded (in their command lines)
FIXTURE_CPU_CAPABILITY = "AVX512"  # torch.backends.cpu.get_cpu_capability() where they ran
NUMBERS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr"]


def copy_fixture(tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(FIXTURE, copy, ignore=shutil.ignore_patterns("report.md"))
    return copy


def normalized(text: str, *paths: str) -> str:
    for path in paths:
        text = text.replace(path, "{RESULTS}")
    return re.sub(r"report written \S+", "report written TIME", text)


@pytest.mark.slow
def test_a_store_written_before_the_layout_change_gives_the_same_report(tmp_path):
    store = copy_fixture(tmp_path)
    proc = bench_main("report", "--results", str(store), "--out", str(store / "report.md"))
    assert proc.returncode == 0, proc.stderr
    expected = (FIXTURE / "report.md").read_text()
    actual = (store / "report.md").read_text()
    assert normalized(actual, WRITTEN_AT, str(store)) == normalized(expected)
    assert len(list((store / "report_figures").glob("*.png"))) == 7


def history(path: Path) -> pd.DataFrame:
    uri = f"{(path / 'archbench.sqlite').resolve().as_uri()}?immutable=1"  # no -wal, -shm
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        frame = pd.read_sql_query("SELECT * FROM history ORDER BY run_id, epoch", conn)
    return frame.set_index(["run_id", "epoch"])[NUMBERS]


def train_again(results: Path) -> pd.DataFrame:
    proc = bench_main(
        "run",
        "--arch",
        "mlp32",
        "tinycnn",
        "--dataset",
        "synthetic",
        "--seeds",
        "0-1",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--results",
        str(results),
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    return history(results)


@pytest.mark.slow
def test_the_same_configs_give_bitwise_the_same_per_epoch_numbers_and_run_ids(tmp_path):
    """Bitwise on a CPU of the kind the fixture was written on (its kernels: AVX512); on
    another kind the kernels round differently, so there: bitwise between two runs here, and
    close to the fixture."""
    before, after = history(FIXTURE), train_again(tmp_path / "again")
    assert list(after.index) == list(before.index)  # same run ids, same epochs
    if torch.backends.cpu.get_cpu_capability() == FIXTURE_CPU_CAPABILITY:
        pd.testing.assert_frame_equal(after, before, check_exact=True)
    else:
        pd.testing.assert_frame_equal(train_again(tmp_path / "twice"), after, check_exact=True)
        pd.testing.assert_frame_equal(after, before, check_exact=False, rtol=1e-4, atol=1e-6)
