"""The run filter's grammar on a hand-made runs table (nothing trained): numbers compare as
numbers, text as text, ``none`` as a missing value, and what is not ``COLUMN OP VALUE`` is
refused, never evaluated."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bench.config import UsageError
from bench.store import RunFilter


def config(arch: str, dataset: str, lr: float, batch_size, limit_train=None) -> str:
    recipe = {"name": "adam-bs64-e5", "optimizer": "adam", "lr": lr, "batch_size": batch_size}
    values = {"arch": arch, "dataset": dataset, "limit_train": limit_train, "recipe": recipe}
    return json.dumps(values)


RUNS = pd.DataFrame(
    {
        "run_id": ["a", "b", "c", "d"],
        "arch": ["mlp32", "cnn", "MyNet", "mlp256"],
        "dataset": ["mnist", "mnist", "blobs.npz", "/data/faces"],
        "status": ["ok", "ok", "ok", "diverged"],
        "seed": [0, 1, 0, 0],
        "test_acc": [0.9, 0.95, float("nan"), 0.1],
        "started_at": [
            "2026-10-01T10:00:00.000+00:00",
            "2026-11-01T10:00:00.000+00:00",
            "2026-11-02T10:00:00.000+00:00",
            "2026-11-02T23:30:00.000+00:00",
        ],
        "config_json": [
            config("mlp32", "mnist", 0.001, 64),
            config("cnn", "mnist", 0.01, 128, limit_train=600),
            config("MyNet", "blobs.npz", 0.001, None),
            config("mlp256", "/data/faces", 0.1, "full"),
        ],
        "env_json": [json.dumps({"torch_version": "2.5"})] * 4,
    }
)


def ids(**options) -> list[str]:
    return list(RunFilter.parse(**options).runs(RUNS).run_id)


def test_no_filter_keeps_every_run():
    assert not RunFilter.parse()
    assert ids() == ["a", "b", "c", "d"]


def test_numbers_text_flags_and_missing_values():
    assert ids(where="lr<0.01") == ["a", "c"]
    assert ids(where="lr = 0.01") == ["b"]
    assert ids(where=["lr<=0.01", "seed!=0"]) == ["b"]
    assert ids(where="config.recipe.lr>=0.1") == ["d"]
    # a column holding numbers and text ("full"): numbers compare as numbers, text never
    assert ids(where="batch_size<100") == ["a"]
    assert ids(where="batch_size==full") == ["d"]
    assert ids(where="limit_train==none") == ["a", "c", "d"]
    assert ids(where="limit_train!=none") == ["b"]
    assert ids(where="test_acc>0.5") == ["a", "b"]  # a missing accuracy matches nothing
    assert ids(where="test_acc!=0.9") == ["b", "c", "d"]
    assert ids(where="status=='ok'") == ["a", "b", "c"]
    assert ids(where="env.torch_version=='2.5'") == ["a", "b", "c", "d"]
    assert ids(where='recipe=="adam-bs64-e5"') == ["a", "b", "c", "d"]


def test_dataset_arch_and_since():
    assert ids(dataset="faces") == ["d"]
    assert ids(dataset=["blobs.npz", "mnist"]) == ["a", "b", "c"]
    assert ids(arch="mlp*") == ["a", "d"]
    assert ids(arch="models.py:MyNet,cnn") == ["b", "c"]
    assert ids(since="2026-11-01") == ["b", "c", "d"]
    assert ids(since="2026-11-02T12:00") == ["d"]
    assert ids(since="2026-11-03T00:00+01:00") == ["d"]  # 23:00 UTC
    both = RunFilter.parse(dataset="mnist", arch="cnn", where="lr>0", since="2026-01-01")
    assert both.describe() == (
        "--dataset mnist --arch cnn --where 'lr>0' --since 2026-01-01T00:00:00+00:00"
    )


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "lr < 0.01 or 1",
        "lr",
        "lr<",
        "<0.01",
        "1lr<0.01",
        "lr=<0.01",
        "lr<abc",
    ],
)
def test_what_is_not_column_op_value_is_refused(expression):
    with pytest.raises(UsageError, match=r"is not COLUMN OP VALUE|compares numbers"):
        RunFilter.parse(where=expression).runs(RUNS)


def test_an_unknown_column_lists_the_valid_ones():
    with pytest.raises(UsageError) as caught:
        RunFilter.parse(where="learning_rate<0.1").runs(RUNS)
    message = str(caught.value)
    assert "unknown column 'learning_rate'" in message and "\n" not in message
    assert "valid: " in message and " lr," in message and "batch_size" in message


def test_a_filter_that_keeps_nothing_names_what_is_there():
    with pytest.raises(UsageError) as caught:
        RunFilter.parse(dataset="cifar10").runs(RUNS, "results")
    assert str(caught.value) == (
        "no runs in results match --dataset cifar10 (datasets there: /data/faces, blobs.npz, "
        "mnist; architectures: MyNet, cnn, mlp256, mlp32); change or drop a filter"
    )
