"""Bad user code, data and study files: one line naming the problem, exit 2, and the store
unchanged to the byte."""

from __future__ import annotations

import numpy as np
import pytest

from bench.cli import main
from tests.usercode_helpers import (
    clean_registries,  # noqa: F401  (fixture)
    snapshot,
    write,
    write_image_folder,
    write_mynet,
    write_npz,
)

QUICK = [
    "--epochs",
    "1",
    "--limit-train",
    "300",
    "--limit-test",
    "100",
    "--device",
    "cpu",
    "--quiet",
]
pytestmark = pytest.mark.usefixtures("clean_registries")


@pytest.fixture
def store(tmp_path):
    results = tmp_path / "results"
    assert (
        main(["run", "--arch", "slp", "--dataset", "synthetic", "--results", str(results), *QUICK])
        == 0
    )
    return results


def _missing_file(tmp):
    return ["--arch", f"{tmp}/nope.py:MyNet"], "no such file"


def _import_failure(tmp):
    write(tmp / "broken.py", "import torch\n\nVALUE = 1 / 0\n")
    return ["--arch", f"{tmp}/broken.py:MyNet"], f"{tmp}/broken.py:3: ZeroDivisionError"


def _missing_module(tmp):
    return ["--arch", "nosuchpackage.models:MyNet"], "no module named 'nosuchpackage.models'"


def _missing_name(tmp):
    write_mynet(tmp)
    return ["--arch", f"{tmp}/models.py:MyNte"], "has no class or function 'MyNte'; closest: MyNet"


def _not_a_module(tmp):
    write(tmp / "f.py", "def make(num_classes):\n    return 42\n")
    return ["--arch", f"{tmp}/f.py:make"], "returned int, not a torch.nn.Module"


def _wrong_output(tmp):
    write(
        tmp / "f.py",
        """
        from torch import nn

        def five(num_classes):
            return nn.Sequential(nn.Flatten(), nn.Linear(784, 5))
    """,
    )
    return ["--arch", f"{tmp}/f.py:five"], "output of shape [2, 5] for a batch of 2"


def _two_models_one_name(tmp):
    one, two = write_mynet(tmp / "one", 16), write_mynet(tmp / "two", 24)
    return ["--arch", f"{one}:MyNet", f"{two}:MyNet"], "two different architectures are named"


def _npz_float_range(tmp):
    path = write_npz(tmp / "d.npz", x_test=np.full((80, 28, 28), 255.0))
    return ["--arch", "slp", "--dataset", str(path)], "float images must be in [0, 1]"


def _npz_missing_arrays(tmp):
    path = write_npz(tmp / "d.npz", y_test=None)
    return ["--arch", "slp", "--dataset", str(path)], "lacks array(s) y_test"


def _npz_bad_labels(tmp):
    path = write_npz(tmp / "d.npz", classes=4, y_test=np.full(80, 7))
    return ["--arch", "slp", "--dataset", str(path)], "label 7 is outside 0..3"


def _mixed_sizes(tmp):
    from PIL import Image

    root = write_image_folder(tmp / "imgs")
    Image.new("L", (9, 9)).save(root / "train" / "a" / "odd.png")
    return ["--arch", "slp", "--dataset", str(root)], "images have different sizes"


def _no_images(tmp):
    for part in ("train", "test"):
        (tmp / "empty" / part / "a").mkdir(parents=True)
    return ["--arch", "slp", "--dataset", str(tmp / "empty")], "has no images"


def _missing_dataset(tmp):
    return ["--arch", "slp", "--dataset", f"{tmp}/none.npz"], "no such dataset file or folder"


def _toml_unknown_key(tmp):
    path = write(tmp / "study.toml", 'archs = ["cnn"]\nepochz = 3\n')
    return ["--suite-file", str(path)], "unknown key(s) 'epochz'"


def _toml_unknown_override(tmp):
    path = write(tmp / "study.toml", 'archs = ["cnn"]\n[overrides]\nlearning_rate = 0.1\n')
    return ["--suite-file", str(path)], "recipe has no field 'learning_rate'"


CASES = [
    _missing_file,
    _import_failure,
    _missing_module,
    _missing_name,
    _not_a_module,
    _wrong_output,
    _two_models_one_name,
    _npz_float_range,
    _npz_missing_arrays,
    _npz_bad_labels,
    _mixed_sizes,
    _no_images,
    _missing_dataset,
    _toml_unknown_key,
    _toml_unknown_override,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_bad_input_is_one_line_exit_2_and_the_store_is_unchanged(case, store, tmp_path, capsys):
    args, expected = case(tmp_path)
    before = snapshot(store)
    capsys.readouterr()
    code = main(["run", *args, "--results", str(store), *QUICK])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("bench: error: "), err
    assert expected in err
    assert snapshot(store) == before
