"""The machine-wide training slot: concurrent archbench processes take turns on the cores.

A run holds the slot (an exclusive lock on ``slot.lock`` in :func:`slot_dir`) only while it
trains, so two ``bench run`` processes on one machine, with the same or different results
directories, train one after the other instead of oversubscribing the cores (which makes
OpenMP threads spin and wait, and times 10-100x longer). Whatever the mode, a training process
also announces itself in the slot directory (``training/PID.json``, with its thread count) for
as long as it trains, so every run can tell how many other archbench processes trained beside
it (see :mod:`bench.train.timing`).

The mode comes from ``$ARCHBENCH_SLOT`` (so child processes of an executor inherit it):

- ``wait`` (default): take the slot, waiting as long as another process holds it;
- ``off`` (``bench run --no-wait``, Ray tasks, which reserve CPUs instead): do not take it;
- ``held``: a parent process holds it for this one (``bench run --jobs N``: its parallel
  runs split the cores between them).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

MODES = ("wait", "off", "held")
ENV_MODE, ENV_DIR = "ARCHBENCH_SLOT", "ARCHBENCH_SLOT_DIR"


def slot_dir() -> Path:
    """``$ARCHBENCH_SLOT_DIR``, else ``~/.cache/archbench/slot`` (tests point it at a
    directory of their own session)."""
    env = os.environ.get(ENV_DIR)
    return Path(env) if env else Path.home() / ".cache" / "archbench" / "slot"


def mode() -> str:
    value = os.environ.get(ENV_MODE) or "wait"
    return value if value in MODES else "wait"


@contextlib.contextmanager
def mode_set(value: str) -> Iterator[None]:
    """``$ARCHBENCH_SLOT`` set to ``value`` (for this process and the children it starts)."""
    before = os.environ.get(ENV_MODE)
    os.environ[ENV_MODE] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_MODE, None)
        else:
            os.environ[ENV_MODE] = before


def lock() -> FileLock:
    directory = slot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return FileLock(directory / "slot.lock")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def others_training() -> list[dict]:
    """The other archbench processes training on this machine now: ``{"pid", "threads"}``
    each (entries of processes that died without cleaning up are removed)."""
    found = []
    directory = slot_dir() / "training"
    if not directory.is_dir():
        return found
    for path in directory.glob("*.json"):
        try:
            entry = json.loads(path.read_text())
            pid = int(entry["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written or removed right now
        if pid == os.getpid():
            continue
        if not _alive(pid):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        found.append({"pid": pid, "threads": int(entry.get("threads") or 1)})
    return found


@contextlib.contextmanager
def announced(threads: int) -> Iterator[None]:
    """This process is listed as training (with ``threads``) while inside."""
    directory = slot_dir() / "training"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{os.getpid()}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"pid": os.getpid(), "threads": threads}))
    temporary.replace(path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def acquire(say=None) -> FileLock:
    """The slot, taken (waiting as long as it takes); ``say`` hears one line if it waits."""
    slot = lock()
    try:
        slot.acquire(timeout=0)
    except TimeoutError:
        if say is not None:
            holders = ", ".join(str(o["pid"]) for o in others_training()) or "another process"
            say(f"waiting for the machine-wide training slot (held by archbench pid {holders})")
        slot.acquire()
    return slot


@contextlib.contextmanager
def training(threads: int, say=None) -> Iterator[float]:
    """Hold the slot (per :func:`mode`) and announce this process while training; yields the
    seconds spent waiting for the slot. ``say`` (a callable) hears one line when it waits."""
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if mode() == "wait":
            stack.callback(acquire(say).release)
        waited = time.perf_counter() - t0
        stack.enter_context(announced(threads))
        yield waited


@contextlib.contextmanager
def held_for_children(say=None) -> Iterator[None]:
    """Take the slot in this process for the child processes it runs in parallel (``bench
    run --jobs N``, whose runs split the cores between them): inside, children see mode
    ``held`` and do not wait for it themselves. With mode ``off`` nothing is taken."""
    if mode() != "wait":
        yield
        return
    slot = acquire(say)
    try:
        with mode_set("held"):
            yield
    finally:
        slot.release()
