"""Errors that planning can catch are caught there: a corrupt dataset or a --val-size that
leaves no training images is one line and exit 2, with nothing recorded (not one `error` row
per planned run)."""

from __future__ import annotations

import pytest

from bench.cli import main
from bench.config import UsageError
from bench.data import datasets
from bench.store import ResultsStore
from bench.sweep import sweep
from tests.helpers import quick_config


def corrupt_mnist(root):
    """A data root holding all four MNIST files, each with the wrong bytes."""
    raw = datasets.DATASETS["mnist"].layout.raw_dir(root)
    raw.mkdir(parents=True)
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (raw / name).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    return root


SWEEP = ["run", "--arch", "mlp32", "tinycnn", "slp", "--seeds", "0-3", "--epochs", "1", "--quiet"]


def test_a_corrupt_dataset_is_refused_before_the_sweep(tmp_path, capsys):
    root = corrupt_mnist(tmp_path / "data")
    code = main(
        [*SWEEP, "--dataset", "mnist", "--data-root", str(root), "--results", str(tmp_path / "R")]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "mismatch" in err.lower() and "bench data prepare" in err
    assert not (tmp_path / "R").exists()  # nothing recorded, no store made


def test_a_val_size_leaving_no_training_images_is_refused_before_the_sweep(tmp_path, capsys):
    code = main(
        [
            *SWEEP,
            "--dataset",
            "synthetic",
            "--limit-train",
            "300",
            "--val-size",
            "300",
            "--results",
            str(tmp_path / "R"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "leaves no training images" in err, err
    assert not (tmp_path / "R").exists()


def test_the_sweep_api_checks_before_running_too(tmp_path):
    store = ResultsStore(tmp_path / "R")
    configs = [quick_config(seed=s, val_size=10**6) for s in range(3)]
    with pytest.raises(UsageError, match="leaves no training images"):
        sweep.run(configs, store)
    assert store.runs().empty  # no error rows
