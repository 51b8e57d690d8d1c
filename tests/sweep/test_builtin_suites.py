"""The built-in suites are study files shipped as package data (bench/sweep/builtin_suites/),
read by the same schema as the user's --suite-file; loaded, they are exactly the Python
definitions they replaced (frozen below), so every run id stays what it was."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from bench.sweep import suites, sweep
from bench.sweep.protocols import LRRangeStep, Protocol, Reference
from bench.sweep.suite_schema import grid
from bench.sweep.suites import SUITES, Suite

ROOT = Path(__file__).resolve().parents[2]
OLD: dict[str, Suite] = {}


def _old(suite: Suite) -> None:
    OLD[suite.name] = suite


# --- the definitions of bench/sweep/suites.py before the suites became files (frozen) -------

LAST_EPOCH = "nothing (the last epoch's test accuracy is the result)"

_old(
    Suite(
        "mlp-vs-cnn",
        description="The four-model recap: an MLP against three CNNs of growing size",
        source="MLP vs CNN recap on MNIST (four models, Adam, batch 64, 5 epochs)",
        archs=("mlp32", "tinycnn", "cnn", "strongcnn"),
        recipe="adam-bs64-e5",
        protocol=Protocol(
            60_000,
            val_size=0,
            selection=LAST_EPOCH,
            reason="the recap trained each model on all 60,000 training images for a fixed 5 "
            "epochs and compared the last epoch's test accuracies: nothing needs a validation set",
        ),
    )
)
_old(
    Suite(
        "mlp-baseline",
        description="A single-hidden-layer MLP baseline",
        source="MLP-256 baseline on MNIST (Adam, batch 128, 10 epochs)",
        archs=("mlp256",),
        recipe="adam-bs128-e10",
        protocol=Protocol(
            60_000,
            val_size=0,
            selection=LAST_EPOCH,
            reason="the baseline trained on all 60,000 training images for a fixed 10 epochs "
            "and reported the last epoch's test accuracy: nothing needs a validation set",
        ),
    )
)
_old(
    Suite(
        "notebook-mlp-cnn",
        description="MLP vs CNN on normalized inputs, with an LR range test and a retrain "
        "of the CNN at the chosen LR",
        source="MNIST notebook: MLP vs CNN with normalized inputs",
        archs=("mlp256_128", "mnistcnn"),
        recipe="adam-bs64-e5-norm",
        lr_range=LRRangeStep("mnistcnn"),
        protocol=Protocol(
            60_000,
            val_size=None,
            selection="mnistcnn's learning rate, on validation loss (LR range test)",
            reason="the LR range test chooses mnistcnn's learning rate and needs images that "
            "are neither trained on nor the test set, so the last 10,000 training images are "
            "held out; every run of the suite uses the same split, so the retrain at the "
            "chosen LR and the runs at the recipe's LR compare on equal terms",
            difference="the notebook chose its learning rate on the test set; archbench "
            "chooses it on the held-out validation images, so its models train on 50,000 "
            "images, not 60,000",
        ),
    )
)
_old(
    Suite(
        "fc-sweep",
        description="Which hyperparameters matter for a fully-connected net: SGD learning "
        "rate x batch size",
        source="Fully-connected network study: SGD learning rate x batch size",
        archs=("mlp512x2",),
        recipe="sgd-lr1e-3-bs64-e20",
        grid=grid(lr=[1e-3, 3e-3, 1e-2, 3e-2, 1e-1], batch_size=[32, 64, 128]),
        protocol=Protocol(
            60_000,
            val_size=0,
            selection="nothing (every grid point's last-epoch test accuracy is reported)",
            reason="the study trained every learning rate x batch size point on all 60,000 "
            "training images for a fixed 20 epochs and compared their final test accuracies; "
            "it picks no point, so nothing needs a validation set",
        ),
    )
)
_old(
    Suite(
        "digits-from-scratch",
        description="A softmax layer and a small MLP on the 8x8 digits, full-batch gradient "
        "descent",
        source="8x8 digits from scratch (full-batch gradient descent)",
        archs=("digits_slp", "digits_mlp"),
        recipe="fullbatch-gd-lr0.1-e1000",
        dataset="digits",
        protocol=Protocol(
            1_437,
            val_size=0,
            selection=LAST_EPOCH,
            reason="the study ran a fixed 1000 full-batch steps on the whole 1,437-image "
            "training split (the z-score fitted on those images) and reported test accuracy: "
            "nothing needs a validation set",
        ),
    )
)
_old(
    Suite(
        "lenet",
        description="LeNet-5 next to the recap's CNN and MLP",
        source="LeCun et al. 1998, Gradient-based learning applied to document recognition",
        archs=("lenet5", "cnn", "mlp32"),
        recipe="adam-bs64-e5",
        protocol=Protocol(
            60_000,
            val_size=0,
            selection=LAST_EPOCH,
            reason="LeNet-5 was trained on all 60,000 training images and judged on the test "
            "set; the suite runs the recap's recipe and protocol, so its cnn and mlp32 runs "
            "are the recap's own (trained once)",
        ),
        references=(
            Reference(
                "lenet5",
                "test_acc",
                0.9905,
                "LeCun et al. 1998: LeNet-5, 0.95 % test error without distortions",
            ),
        ),
    )
)
_old(
    Suite(
        "fc-depth-width",
        description="The fully-connected study's other question: depth x width of the MLP "
        "(hidden layers of equal width), at fc-sweep's recipe",
        source="Fully-connected network study: depth x width",
        archs=("mlp",),
        recipe="sgd-lr1e-3-bs64-e20",
        grid=grid(hidden=[[w] * d for d in (1, 2, 3) for w in (128, 256, 512)]),
        protocol=Protocol(
            60_000,
            val_size=0,
            selection="nothing (every grid point's last-epoch test accuracy is reported)",
            reason="the study trained every depth x width point on all 60,000 training images "
            "for a fixed 20 epochs and compared their final test accuracies; it picks no "
            "point, so nothing needs a validation set",
        ),
    )
)
_old(
    Suite(
        "robustness",
        description="Does augmentation or label smoothing buy robustness to rotation? The "
        "notebook's CNN and LeNet-5, augmentation none vs random affine + elastic x label "
        "smoothing 0 vs 0.1; clean and rotated (±15°) test accuracy",
        source="MNIST notebook: robustness study (augmentation, label smoothing, rotated test)",
        archs=("mnistcnn", "lenet5"),
        recipe="adam-bs64-e5-norm",
        grid=grid(augment=["none", "affine+elastic"], label_smoothing=[0.0, 0.1]),
        protocol=Protocol(
            60_000,
            val_size=0,
            selection="nothing (every setting's last-epoch clean and rotated test accuracies "
            "are reported)",
            reason="the study trained each setting on all 60,000 training images for a fixed "
            "5 epochs and compared clean and rotated test accuracy; it picks no setting, so "
            "nothing needs a validation set",
        ),
    )
)
_old(
    Suite(
        "noise",
        description="Where the noise comes from: one model with only its weight init, only "
        "the shuffle order, only dropout, or everything following the seed (10 seeds each)",
        source="Bouthillier et al., MLSys 2021: Accounting for variance in machine learning "
        "benchmarks",
        archs=("strongcnn",),
        recipe="adam-bs64-e5",
        vary=("init", "order", "dropout", "all"),
        seeds="0-9",
        protocol=Protocol(
            60_000,
            val_size=0,
            selection=LAST_EPOCH,
            reason="the recap's recipe and protocol, so that the noise measured is the noise "
            "of the recap's own strongcnn runs (the --vary all runs are those runs)",
        ),
    )
)


# --- the checks --------------------------------------------------------------------------


def test_the_files_hold_exactly_the_old_suites():
    assert set(SUITES) == set(OLD)
    for name, old in OLD.items():
        loaded = SUITES[name]
        assert loaded.origin == suites.BUILT_IN
        assert dataclasses.replace(loaded, origin="") == old, name
        for new_point, old_point in zip(loaded.grid, old.grid, strict=True):  # 0.0 is not 0
            assert [type(v) for v in new_point.values()] == [type(v) for v in old_point.values()]


@pytest.mark.parametrize("name", sorted(OLD))
def test_run_ids_are_unchanged(name):
    old, new = OLD[name], SUITES[name]
    for vary in old.vary or ("all",):
        before = sweep.plan_suite(old, [0, 1], ["cpu"], vary=vary)
        after = sweep.plan_suite(new, [0, 1], ["cpu"], vary=vary)
        assert [c.run_id for c in after] == [c.run_id for c in before]
        assert [c.to_json() for c in after] == [c.to_json() for c in before]


def test_each_file_is_named_after_its_suite_and_ships_with_the_package():
    files = suites.builtin_files()
    assert sorted(f.stem for f in files) == sorted(SUITES)
    for path in files:
        assert tomllib.loads(path.read_text())["name"] == path.stem
        assert path.parent == ROOT / "bench" / "sweep" / "builtin_suites"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["bench.sweep"]
    packaged = {p for g in globs for p in (ROOT / "bench" / "sweep").glob(g)}
    assert set(files) <= packaged
