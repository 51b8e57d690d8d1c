"""Refactoring never changes a number: fixed CPU runs on real MNIST give the per-epoch numbers
recorded in ``tests/fixtures/golden_epochs.json`` (written by archbench before the core became a
library, issue 19), bit for bit where the CPU's kernels are the same kind.

The runs cover the paths that produce numbers: an MLP trained seed-parallel (two seeds as one
group), a CNN with channels-last and the fused optimizer, and a model with dropout. Regenerate
the file only for a deliberate change of numbers: ``python tests/train/test_golden_numbers.py``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
import torch

from bench.cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden_epochs.json"
COMMAND = [
    "run",
    "--arch",
    "mlp32",
    "cnn",
    "strongcnn",
    "--seeds",
    "0-1",
    "--epochs",
    "2",
    "--limit-train",
    "1500",
    "--val-size",
    "500",
    "--limit-test",
    "500",
    "--threads",
    "1",
    "--device",
    "cpu",
    "--quiet",
]
NUMBERS = ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr")


def per_epoch_numbers(results: Path) -> dict[str, list[list[str]]]:
    """Per run id, per epoch: the numbers as exact hex floats (None stays None)."""
    with sqlite3.connect(results / "archbench.sqlite") as conn:
        rows = conn.execute(
            f"SELECT run_id, {', '.join(NUMBERS)} FROM history ORDER BY run_id, epoch"
        ).fetchall()
    numbers: dict[str, list[list[str]]] = {}
    for run_id, *values in rows:
        numbers.setdefault(run_id, []).append(
            [None if v is None else float(v).hex() for v in values]
        )
    return numbers


def train(results: Path) -> dict[str, list[list[str]]]:
    assert main([*COMMAND, "--results", str(results)]) == 0
    return per_epoch_numbers(results)


@pytest.mark.slow
def test_fixed_cpu_runs_give_the_recorded_numbers(tmp_path, mnist_root):
    golden = json.loads(GOLDEN.read_text())
    numbers = train(tmp_path / "results")
    assert sorted(numbers) == sorted(golden["runs"])  # the same run ids
    if torch.backends.cpu.get_cpu_capability() == golden["cpu_capability"]:
        assert numbers == golden["runs"]
    else:  # other kernels (another CPU kind) round differently, and training amplifies it
        # (strongcnn's dropout most): losses within 1 %, accuracies within 3 points
        for run_id, epochs in golden["runs"].items():
            for mine, theirs in zip(numbers[run_id], epochs, strict=True):
                for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                    if a is None or b is None:
                        assert a == b
                    elif index in (1, 3, 5):  # train, val and test accuracy
                        assert float.fromhex(a) == pytest.approx(float.fromhex(b), abs=0.03)
                    else:  # losses and the learning rate
                        assert float.fromhex(a) == pytest.approx(float.fromhex(b), rel=1e-2)


if __name__ == "__main__":  # regenerate (a deliberate change of numbers only)
    import os
    import tempfile

    from bench.data import datasets

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("ARCHBENCH_DATA", tmp)
        datasets.prepare("mnist", Path(tmp), offline=True)
        GOLDEN.write_text(
            json.dumps(
                {
                    "command": " ".join(["bench", *COMMAND]),
                    "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                    "torch": torch.__version__,
                    "runs": train(Path(tmp) / "results"),
                },
                indent=1,
            )
            + "\n"
        )
    sys.exit(0)
