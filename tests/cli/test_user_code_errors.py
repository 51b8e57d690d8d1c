"""Bad user code, data, study files and values: one line naming the problem, exit 2, and the
store unchanged to the byte."""

from __future__ import annotations

import io
import pickle
import zipfile

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
def store(seeds_store):
    """A copy of the session's store of 15 runs (tests/conftest.py): each case checks that it
    is unchanged to the byte."""
    return seeds_store


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


def _npz_label_beyond_the_class_limit(tmp):
    from bench.data.userdata import MAX_CLASSES

    y = np.r_[np.zeros(239, np.int64), MAX_CLASSES]  # main built 100,001 class names from it
    path = write_npz(tmp / "d.npz", y_train=y)
    return ["--arch", "slp", "--dataset", str(path)], "would make 100,001 classes, more than"


def _npz_uint64_label(tmp):
    y = np.r_[np.zeros(239, np.uint64), np.uint64(2**64 - 1)]  # main: -1, an error run
    path = write_npz(tmp / "d.npz", y_train=y, y_test=np.zeros(80, np.uint64))
    return ["--arch", "slp", "--dataset", str(path)], "label 18446744073709551615 would make"


def _npz_empty_arrays(tmp):
    empty = {"x_train": np.zeros((0, 28, 28), np.uint8), "x_test": np.zeros((0, 28, 28), np.uint8)}
    path = write_npz(tmp / "d.npz", y_train=np.zeros(0, np.int64), y_test=np.zeros(0), **empty)
    return ["--arch", "slp", "--dataset", str(path)], "y_train is empty; a dataset needs"


def _npz_empty_test_set(tmp):  # main recorded it ok, with no accuracy
    x, y = np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    path = write_npz(tmp / "d.npz", x_test=x, y_test=y)
    return ["--arch", "slp", "--dataset", str(path)], "y_test is empty; a dataset needs"


def _rewrite_member(path, member, data):
    """``path`` with the bytes of ``member`` replaced by ``data``."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return path


def _npz_pickle_member(tmp):
    class Boom:  # would print if it were ever unpickled
        def __reduce__(self):
            return (print, ("UNPICKLED",))

    path = _rewrite_member(write_npz(tmp / "d.npz"), "y_test.npy", pickle.dumps(Boom()))
    return ["--arch", "slp", "--dataset", str(path)], "y_test is not a .npy array (the magic"


def _npz_object_array(tmp):
    path = write_npz(tmp / "d.npz")
    with np.load(path) as data:
        arrays = dict(data)
    names = np.array(["a", "b", "c", "d"], dtype=object)  # saved as a pickle inside the .npy
    np.savez(path, classes=names, **arrays)
    return ["--arch", "slp", "--dataset", str(path)], "classes holds Python objects"


def _npz_header_of_a_huge_array(tmp):
    path = write_npz(tmp / "d.npz")
    with zipfile.ZipFile(path) as zf:
        original = zf.read("x_train.npy")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (10**11, 28, 28)}
    )
    _rewrite_member(path, "x_train.npy", header.getvalue() + original[128:])  # main: 71 TiB
    return ["--arch", "slp", "--dataset", str(path)], "announces shape [100000000000, 28, 28] of"


def _image_not_readable(tmp):
    root = write_image_folder(tmp / "imgs")
    (root / "train" / "a" / "broken.png").write_bytes(b"not a png")
    return ["--arch", "slp", "--dataset", str(root)], "broken.png: not an image Pillow can read"


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


def _toml_override_of_the_wrong_type(tmp):
    path = write(tmp / "s.toml", 'archs = ["slp"]\n[overrides]\nepochs = "one"\n')
    return ["--suite-file", str(path)], "[overrides] epochs must be an integer, got 'one'"


def _toml_grid_value_of_the_wrong_type(tmp):
    path = write(tmp / "s.toml", 'archs = ["slp"]\n[grid]\nlr = [0.001, "x"]\n')
    return ["--suite-file", str(path)], "each value in grid.lr must be a number, got 'x'"


def _toml_infinite_architecture_argument(tmp):
    path = write(tmp / "s.toml", 'archs = ["mlp"]\n[grid]\nhidden = [[1e400]]\n')
    return ["--suite-file", str(path)], "grid.hidden value [inf] is not an architecture argument"


def _pattern_that_matches_nothing(tmp):  # main dropped it and ran slp alone
    return ["--arch", "zzz*", "slp"], "no architecture matches --arch pattern 'zzz*'"


def _pattern_that_exclude_empties(tmp):
    args = ["--arch", "mlp2*", "slp", "--exclude", "mlp2*"]
    return args, "--arch 'mlp2*' matches only architectures that --exclude mlp2* removes"


def _fractional_layer_size(tmp):  # main built 2 units and recorded 2.5
    args = ["--arch", "mlp", "--arch-arg", "hidden=[2.5]"]
    return args, "hidden must be a list of integers (declared Sequence[int]), got [2.5]"


def _boolean_layer_size(tmp):  # main built 1 unit and recorded true
    return ["--arch", "mlp", "--arch-arg", "hidden=[true]"], "got [true]: true is not an integer"


def _layer_beyond_float_range(tmp):
    args = ["--arch", "mlp", "--arch-arg", "hidden=[1e400]"]
    return args, "1e400 is beyond the range of a float"


def _model_beyond_the_parameter_limit(tmp):  # main: a traceback from a 313 GB allocation
    args = ["--arch", "mlp", "--arch-arg", "hidden=[100000000]"]
    return args, "has 79,500,000,010 parameters, more than archbench's limit of 1,000,000,000"


TYPED = """
from torch import nn


class Typed(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(784, width), nn.ReLU(), nn.Linear(width, num_classes)
        )

    def forward(self, x):
        return self.net(x)
"""


def _user_int_argument_of_another_type(tmp):
    write(tmp / "typed.py", TYPED)
    args = ["--arch", f"{tmp}/typed.py:Typed", "--arch-arg", "width=2.5"]
    return args, "architecture 'Typed': width must be an integer (declared int), got 2.5"


def _user_model_beyond_the_parameter_limit(tmp):  # counted on the meta device, not allocated
    write(tmp / "typed.py", TYPED)
    args = ["--arch", f"{tmp}/typed.py:Typed", "--arch-arg", "width=10000000"]
    return args, "'Typed' with width=10000000 has 7,950,000,010 parameters, more than"


LAZY = """
from torch import nn


class Lazy(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.LazyLinear(16), nn.ReLU(), nn.LazyLinear(num_classes)
        )

    def forward(self, x):
        return self.net(x)
"""


def _lazy_model_forced_seed_parallel(tmp):
    write(tmp / "lazy.py", LAZY)
    args = ["--arch", f"{tmp}/lazy.py:Lazy", "--seeds", "0-1", "--seed-parallel", "on"]
    return args, "--seed-parallel on cannot stack Lazy: it has lazy modules"


def _infinite_margin(tmp):
    return ["--arch", "slp", "mlp32", "--margin", "inf"], "--margin must be a finite number of"


def _too_many_max_seeds(tmp):
    args = ["--arch", "slp", "mlp32", "--seeds", "auto", "--max-seeds", "100001"]
    return args, "--max-seeds must be at most 100,000 (the seeds one sweep may have)"


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
    _npz_label_beyond_the_class_limit,
    _npz_uint64_label,
    _npz_empty_arrays,
    _npz_empty_test_set,
    _npz_pickle_member,
    _npz_object_array,
    _npz_header_of_a_huge_array,
    _image_not_readable,
    _toml_override_of_the_wrong_type,
    _toml_grid_value_of_the_wrong_type,
    _toml_infinite_architecture_argument,
    _pattern_that_matches_nothing,
    _pattern_that_exclude_empties,
    _fractional_layer_size,
    _boolean_layer_size,
    _layer_beyond_float_range,
    _model_beyond_the_parameter_limit,
    _user_int_argument_of_another_type,
    _user_model_beyond_the_parameter_limit,
    _lazy_model_forced_seed_parallel,
    _infinite_margin,
    _too_many_max_seeds,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.strip("_") for c in CASES])
@pytest.mark.slow
def test_bad_input_is_one_line_exit_2_and_the_store_is_unchanged(case, store, tmp_path, capsys):
    args, expected = case(tmp_path)
    before = snapshot(store)
    capsys.readouterr()
    code = main(["run", *args, "--results", str(store), *QUICK])
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("bench: error: "), err
    assert expected in err
    assert snapshot(store) == before
    assert "UNPICKLED" not in captured.out
