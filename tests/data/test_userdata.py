"""The user's own datasets read safely: an .npz's headers checked before anything is allocated
(and never unpickled), labels checked in their own dtype against a class limit, an image
folder read one file at a time with its grayscale-ness decided by every image, and a dataset
with no test images refused before any run."""

from __future__ import annotations

import resource

import numpy as np
import pytest
import torch
from PIL import Image

from bench.config import UsageError
from bench.data import datasets, splits, userdata
from tests.usercode_helpers import write_image_folder, write_npz


def test_labels_are_checked_in_their_own_dtype_against_the_class_limit(tmp_path):
    limit = userdata.MAX_CLASSES
    ok = write_npz(tmp_path / "ok.npz", y_train=np.r_[np.zeros(239, np.int64), limit - 1])
    assert len(userdata.load_npz(ok).classes) == limit  # the largest count allowed
    over = write_npz(tmp_path / "over.npz", y_train=np.r_[np.zeros(239, np.int64), limit])
    with pytest.raises(UsageError, match=f"would make {limit + 1:,} classes, more than"):
        userdata.load_npz(over)
    huge = np.r_[np.zeros(239, np.uint64), np.uint64(2**64 - 1)]  # not -1
    path = write_npz(tmp_path / "u64.npz", y_train=huge, y_test=np.zeros(80, np.uint64))
    with pytest.raises(UsageError, match="label 18446744073709551615 would make"):
        userdata.load_npz(path)
    named = write_npz(tmp_path / "named.npz", classes=4, y_test=np.full(80, 2**64 - 1, np.uint64))
    with pytest.raises(UsageError, match=r"label 18446744073709551615 is outside 0\.\.3"):
        userdata.load_npz(named)
    one = write_npz(tmp_path / "one.npz", classes=1)
    with pytest.raises(UsageError, match="1 classes; a classifier needs 2 to 100,000"):
        userdata.load_npz(one)


def test_npz_headers_are_checked_before_any_array_is_allocated(tmp_path, monkeypatch):
    path = write_npz(tmp_path / "d.npz")
    reads = []
    real = np.lib.format.read_array
    monkeypatch.setattr(
        np.lib.format, "read_array", lambda *a, **k: reads.append(1) or real(*a, **k)
    )
    monkeypatch.setattr(userdata, "MAX_DATA_BYTES", 1000)
    with pytest.raises(UsageError, match=r"KiB, more than archbench's limit of 1000 bytes"):
        userdata.load_npz(path)
    assert reads == []  # refused on the headers alone
    monkeypatch.undo()
    assert len(userdata.load_npz(path).train_y) == 240


def test_a_fortran_ordered_float_npz_loads_as_saved(tmp_path):
    x = np.asfortranarray(np.random.default_rng(0).random((240, 28, 28), dtype=np.float32))
    images = userdata.load_npz(write_npz(tmp_path / "f.npz", x_train=x))
    assert torch.equal(images.train_x[:, 0], torch.from_numpy(np.ascontiguousarray(x)))


def _open_files_limited(soft: int):
    """Lower the soft limit of open files (macOS's default is 256) until the test ends."""
    old = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, old[1]), old[1]))
    return old


def test_an_image_folder_of_thousands_of_files_keeps_few_open(tmp_path):
    root = tmp_path / "many"
    rng = np.random.default_rng(0)
    for part, count in (("train", 500), ("test", 60)):
        for name in ("a", "b"):
            (root / part / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (4, 4), dtype=np.uint8)
                Image.fromarray(pixels).save(root / part / name / f"{i}.png")
    old = _open_files_limited(256)  # 1,120 images: main kept every one open
    try:
        images = userdata.load_folder(root)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, old)
    assert images.train_x.shape == (1000, 1, 4, 4) and images.test_x.shape == (120, 1, 4, 4)
    first = np.asarray(Image.open(root / "train" / "a" / "0.png"))
    assert (images.train_x[0, 0].numpy() == first).all()


def test_sixteen_bit_grayscale_is_grayscale_scaled_to_eight_bits(tmp_path):
    root = write_image_folder(tmp_path / "imgs", size=(6, 6))
    wide = np.full((6, 6), 65535, np.uint16)
    wide[0, :3] = [0, 257, 32896]  # 0, 1 and 128 in 8 bits
    Image.fromarray(wide).save(root / "train" / "a" / "zz16.png")
    assert Image.open(root / "train" / "a" / "zz16.png").mode.startswith("I")
    images = userdata.load_folder(root)
    assert images.image_shape == (1, 6, 6)  # main: the whole folder became RGB
    files = userdata._image_files(root / "train")
    index = files.index(root / "train" / "a" / "zz16.png")
    assert images.train_x[index, 0, 0, :4].tolist() == [0, 1, 128, 255]


def test_one_color_image_makes_the_folder_rgb_and_gray_ones_repeat(tmp_path):
    root = write_image_folder(tmp_path / "imgs", size=(6, 6))
    gray_rgb = np.repeat(np.arange(36, dtype=np.uint8).reshape(6, 6, 1), 3, 2)
    Image.fromarray(gray_rgb).save(root / "train" / "b" / "gray_in_rgb.png")
    assert userdata.load_folder(root).image_shape == (1, 6, 6)  # its pixels are all gray
    color = gray_rgb.copy()
    color[0, 0] = [255, 0, 0]
    Image.fromarray(color).save(root / "test" / "c" / "color.png")
    images = userdata.load_folder(root)
    assert images.image_shape == (3, 6, 6)
    first = np.asarray(Image.open(userdata._image_files(root / "train")[0]))
    assert all((images.train_x[0, c].numpy() == first).all() for c in range(3))
    files = userdata._image_files(root / "test")
    assert images.test_x[files.index(root / "test" / "c" / "color.png"), :, 0, 0].tolist() == [
        255,
        0,
        0,
    ]


def test_a_dataset_without_test_images_is_refused_before_any_run():
    info = datasets.DATASETS["synthetic"]
    full = datasets.synthetic_images(60, 10)
    images = datasets.Images(
        "synthetic", full.train_x, full.train_y, full.test_x[:0], full.test_y[:0], full.classes
    )
    with pytest.raises(UsageError, match="dataset 'synthetic' has no test images; every run"):
        splits.split_indices(images, info, val_size=10)
