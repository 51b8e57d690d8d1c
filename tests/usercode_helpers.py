"""Builders for the "benchmark your own model" tests: user files written by the test itself,
and a fixture that leaves the registries as it found them."""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from architectures import registry
from bench.config import usercode
from bench.data import datasets, userdata
from bench.sweep import suites
from bench.train import modelinfo
from tests.helpers import bench_main

# one quick CPU run of a user's model: 1 epoch on slices of its dataset, one thread, quiet
QUICK_RUN = [
    "--epochs",
    "1",
    "--limit-train",
    "300",
    "--limit-test",
    "100",
    "--device",
    "cpu",
    "--threads",
    "1",
    "--quiet",
]
MYNET = '''
from torch import nn


class MyNet(nn.Module):
    """A small MLP of my own."""

    def __init__(self, num_classes=10, width={width}):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(784, width), nn.ReLU(), nn.Linear(width, num_classes)
        )

    def forward(self, x):
        return self.net(x)
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def write_mynet(directory: Path, width: int = 16) -> Path:
    return write(directory / "models.py", MYNET.replace("{width}", str(width)))


def write_npz(path: Path, classes: int = 4, seed: int = 3, **changes) -> Path:
    """A small seeded .npz dataset: 28x28 uint8 images, ``classes`` classes."""
    im = datasets.synthetic_images(240, 80, seed=seed)
    arrays = {
        "x_train": im.train_x.numpy()[:, 0],
        "y_train": im.train_y.numpy() % classes,
        "x_test": im.test_x.numpy()[:, 0],
        "y_test": im.test_y.numpy() % classes,
    }
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def write_image_folder(root: Path, size=(12, 12), classes=("a", "b", "c"), per_class=12) -> Path:
    """``train/CLASS/*.png`` and ``test/CLASS/*.png``: seeded grayscale blobs per class."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for part, count in (("train", per_class), ("test", per_class // 3)):
        for index, name in enumerate(classes):
            for i in range(count):
                pixels = rng.integers(0, 60, size=(size[1], size[0]), dtype=np.uint8)
                pixels[
                    :, index * size[0] // len(classes) : (index + 1) * size[0] // len(classes)
                ] += 150
                folder = root / part / name
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


@pytest.fixture
def clean_registries():
    """Architectures, datasets, suites and plugins registered by a test are gone after it."""
    with registries_restored():
        yield


@pytest.fixture
def tmp_modules_dropped(tmp_path):
    """Modules a test imports from its ``tmp_path`` (its own ``models``, ``mypkg``) are gone
    from ``sys.modules`` after it: a later test importing a module of that name gets its own."""
    with user_modules_dropped(tmp_path):
        yield


@contextlib.contextmanager
def registries_restored():
    """Architectures, datasets, suites and plugins registered inside are gone after it (for a
    module-scoped fixture; :func:`clean_registries` for one test)."""
    saved = registries_now()
    try:
        yield
    finally:
        put_back(saved)


def registries_now() -> tuple:
    """What this process knows of architectures, datasets, suites and plugins (for
    :func:`put_back`)."""
    registry.load_built_in()  # else put_back would empty a registry whose built-ins came later
    return (
        dict(registry._REGISTRY),
        dict(datasets.DATASETS),
        dict(suites.SUITES),
        dict(userdata._DIGESTS),
        dict(userdata.SOURCES),
        set(usercode._LOADED),
        dict(usercode._BROKEN),
    )


def put_back(saved: tuple) -> None:
    """The registries as :func:`registries_now` found them, the data cache empty."""
    live = (
        registry._REGISTRY,
        datasets.DATASETS,
        suites.SUITES,
        userdata._DIGESTS,
        userdata.SOURCES,
        usercode._LOADED,
        usercode._BROKEN,
    )
    for now, then in zip(live, saved, strict=True):
        now.clear()
        now.update(then)
    datasets._load_cached.cache_clear()


@contextlib.contextmanager
def as_a_new_process(before: tuple):
    """Inside, this process knows of user code and data what it knew at ``before`` (taken with
    :func:`registries_now` when the test began: a new ``bench`` process knows nothing the test
    registered since): what was registered since is forgotten, no module of a user file
    (``FILE.py:NAME``) is in ``sys.modules``, no dataset or model summary is cached; all as it
    was again after it. A command run inside (in this process: no child's seconds of imports)
    has to find the user's code and data from what the store holds, as a new process has to
    (:meth:`UserShell.fresh` does the same for the commands run in a user's directory)."""
    now = registries_now()
    imported = {
        name: module
        for name, module in sys.modules.items()
        if name.startswith(usercode.FILE_MODULE_PREFIX)
    }
    put_back(before)
    for name in imported:
        del sys.modules[name]
    modelinfo._facts.cache_clear()
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n.startswith(usercode.FILE_MODULE_PREFIX)]:
            del sys.modules[name]
        sys.modules.update(imported)
        put_back(now)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its bytes (to check nothing was written)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


class UserShell:
    """A user's directory, in this process: ``bench`` commands (:meth:`bench`) and Python
    scripts (:meth:`python`) run there as a terminal runs them, each as a fresh process would
    (:meth:`fresh`), without a child process's seconds of imports. Made by
    :func:`user_shell`."""

    def __init__(self, directory: Path, patch: pytest.MonkeyPatch):
        self.directory = directory
        self._patch = patch

    def bench(self, *args: str) -> str:
        """``bench ARGS``, which must succeed: what a terminal shows (stdout, then stderr,
        where the progress goes)."""
        with self.fresh():
            done = bench_main(*args)
        assert done.returncode == 0, (
            f"bench {' '.join(args)}: exit {done.returncode}\n{done.stderr}"
        )
        return done.stdout + done.stderr

    def python(self, source: str, filename: str = "<string>") -> str:
        """``source`` run as ``python -c`` runs it here: in a module ``__main__`` of its own,
        ``sys.exit(0)`` allowed. What it printed (stdout, then stderr); an exception it raises
        fails the test with its traceback."""
        main = types.ModuleType("__main__")
        out, err = io.StringIO(), io.StringIO()
        code = compile(source, filename, "exec")
        with self.fresh(), pytest.MonkeyPatch.context() as patch:
            patch.setitem(sys.modules, "__main__", main)
            patch.setattr(sys, "argv", ["-c"])
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    exec(code, main.__dict__)
                except SystemExit as exc:
                    assert exc.code in (None, 0), f"{filename} exited: {exc.code}\n{err.getvalue()}"
        return out.getvalue() + err.getvalue()

    @contextlib.contextmanager
    def fresh(self) -> Iterator[None]:
        """Inside, nothing user code did before is seen, as in a new process: the registries
        as the test session has them (user architectures, datasets, suites and plugins gone,
        and the datasets and model summaries loaded before), this directory's files imported
        afresh (a module of the same name that another test left in ``sys.modules`` set aside
        meanwhile); after it, what it registered and imported is gone again."""
        for path in self.directory.iterdir():
            name = path.stem if path.suffix == ".py" else path.name
            loaded = sys.modules.get(name)
            if loaded is not None and not _under(loaded, self.directory):
                self._patch.delitem(sys.modules, name)
        importlib.invalidate_caches()  # files written since the last import are found
        modelinfo._facts.cache_clear()
        with registries_restored(), user_modules_dropped(self.directory):
            yield


@contextlib.contextmanager
def user_shell(directory: Path, **environ: str) -> Iterator[UserShell]:
    """This process as a user's terminal in ``directory`` (the working directory, first on
    ``sys.path`` as ``python -m``/``-c`` put it, ``environ`` in the environment), and
    afterwards as it was: the registries restored (:func:`registries_restored`), every module
    imported from ``directory`` (and every file archbench imported by path) dropped from
    ``sys.modules``, so that a later test writing another ``models.py`` imports its own."""
    with registries_restored(), pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        patch.syspath_prepend(str(directory))
        for key, value in environ.items():
            patch.setenv(key, value)
        try:
            with user_modules_dropped(directory):
                yield UserShell(directory, patch)
        finally:
            sys.path_importer_cache.pop(str(directory), None)


@contextlib.contextmanager
def user_modules_dropped(directory: Path) -> Iterator[None]:
    """Modules imported inside from ``directory``, or by archbench from a file path, are
    gone from ``sys.modules`` after it."""
    before = set(sys.modules)
    try:
        yield
    finally:
        for name in set(sys.modules) - before:
            module = sys.modules[name]
            if name.startswith(usercode.FILE_MODULE_PREFIX) or _under(module, directory):
                del sys.modules[name]


def _under(module: types.ModuleType, directory: Path) -> bool:
    """Whether ``module`` was imported from a file in ``directory``."""
    file = getattr(module, "__file__", None)
    return bool(file) and Path(file).resolve().is_relative_to(directory.resolve())
