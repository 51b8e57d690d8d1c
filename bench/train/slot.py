"""The machine-wide training slot: concurrent archbench processes take turns on the cores.

A run holds the slot (an exclusive lock on ``slot.lock`` in :func:`slot_dir`) while it
trains, so two ``bench run`` processes on one machine, with the same or different results
directories, train one after the other instead of oversubscribing the cores (which makes
OpenMP threads spin and wait, and times 10-100x longer). ``bench run`` takes it once its
arguments are checked, for the rest of its sweep (:func:`for_sweep`): loading data, building
models, evaluating and recording take the cores too, and would slow another process's
training beside them. Whatever the mode, a training process
also announces itself in the slot directory (``training/PID.json``, with its thread count) for
as long as it trains, so every run can tell how many other archbench processes trained beside
it (see :mod:`bench.train.timing`).

The mode comes from ``$ARCHBENCH_SLOT`` (so child processes of an executor inherit it):

- ``wait`` (default): take the slot, waiting as long as another process holds it;
- ``off`` (``bench run --no-wait``, Ray tasks, which reserve CPUs instead): do not take it;
- ``held``: this process, or its parent, holds it for the runs inside (``bench run``'s
  sweep; ``--jobs N``: its parallel runs split the cores between them).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock

from bench.config.events import EventSink, SlotWaiting

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


def start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, field 22 of ``/proc/PID/stat``),
    or None where there is no ``/proc`` (or no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[-1].split()[19])  # fields after the name start at 3
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, started: int | None = None) -> bool:
    """Whether ``pid`` runs (an exited process its parent has not reaped yet does not) and, when
    ``started`` (its :func:`start_time` as recorded) is given, is still the process that was
    recorded: a process that got the same pid later (pids are reused) is not it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: it exists
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return False
    return started is None or start_time(pid) in (None, started)


def _me() -> dict:
    """This process as the slot directory records it: its pid and start time."""
    return {"pid": os.getpid(), "started": start_time(os.getpid())}


def _started(entry: dict) -> int | None:
    value = entry.get("started")
    return int(value) if value is not None else None


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
            pid, started = int(entry["pid"]), _started(entry)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written or removed right now
        if pid == os.getpid():
            continue
        if not _alive(pid, started):
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
    temporary.write_text(json.dumps({**_me(), "threads": threads}))
    temporary.replace(path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


_SWEEP_WAIT = {"s": 0.0}  # what for_sweep waited, not yet reported by a run in this process


def _holder_entry() -> dict:
    try:
        entry = json.loads((slot_dir() / "holder.json").read_text())
        return {
            "pid": int(entry["pid"]),
            "started": _started(entry),
            "exiting": bool(entry.get("exiting")),
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def holder() -> str:
    """The pid of the process holding the slot (as it wrote it), or "unknown"."""
    return str(_holder_entry().get("pid", "unknown"))


EXIT_WAIT_S = 30.0  # at most, for a previous holder that said it exits to be gone


def acquire(emit: EventSink | None = None) -> FileLock:
    """The slot, taken (waiting as long as it takes); ``emit`` hears :class:`SlotWaiting` if
    it waits."""
    slot = lock()
    try:
        slot.acquire(timeout=0)
    except TimeoutError:
        if emit is not None:
            emit(SlotWaiting(holder()))
        slot.acquire()
        previous = _holder_entry()  # a `bench run` that released the slot to exit: its
        deadline = time.monotonic() + EXIT_WAIT_S  # teardown still takes the cores
        while previous.get("exiting") and previous["pid"] != os.getpid():
            if not _alive(previous["pid"], previous["started"]) or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    _claim()
    return slot


def _claim(exiting: bool = False) -> None:
    """Write this process's pid as the slot's holder (for the line of those who wait), and
    with ``exiting`` that it lets go of the slot only to exit."""
    with contextlib.suppress(OSError):
        text = json.dumps({**_me(), "exiting": exiting})
        (slot_dir() / "holder.json").write_text(text)


@contextlib.contextmanager
def training(threads: int, emit: EventSink | None = None) -> Iterator[float]:
    """Hold the slot (per :func:`mode`) and announce this process while training; yields the
    seconds spent waiting for the slot (the first run inside :func:`for_sweep` reports the
    sweep's wait). ``emit`` hears :class:`SlotWaiting` when it waits."""
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if mode() == "wait":
            stack.callback(acquire(emit).release)
        waited = time.perf_counter() - t0 + _SWEEP_WAIT["s"]
        _SWEEP_WAIT["s"] = 0.0
        stack.enter_context(announced(threads))
        yield waited


@contextlib.contextmanager
def for_sweep(
    emit: EventSink | None = None,
    before_waiting: Callable[[], object] | None = None,
    exiting: bool = False,
) -> Iterator[None]:
    """Hold the slot for a whole ``bench run`` (planning, data, models, training, evaluation,
    recording: all of it takes cores another process's training would miss): inside, this
    process and its children see mode ``held`` and do not wait again. When another process
    holds it, ``before_waiting`` (the command's own checks, so that a mistake is reported at
    once rather than after the wait) runs first at the lowest CPU priority (nice 19; put back
    once the slot is taken where the process may raise it again), then ``emit`` hears
    :class:`SlotWaiting` and the wait begins. ``exiting``: the process exits once it lets go,
    so the next holder waits for it to be gone (its teardown takes the cores too). With mode
    ``off`` or ``held`` nothing is taken."""
    if mode() != "wait":
        yield
        return
    slot = lock()
    try:
        slot.acquire(timeout=0)
    except TimeoutError:
        niceness = os.nice(0)
        if before_waiting is not None:
            with contextlib.suppress(OSError):
                os.nice(19 - niceness)
            before_waiting()
        t0 = time.perf_counter()
        slot = acquire(emit)
        _SWEEP_WAIT["s"] = time.perf_counter() - t0
        with contextlib.suppress(OSError):  # back to where it was, where allowed (root)
            os.setpriority(os.PRIO_PROCESS, 0, niceness)
    else:
        _claim()
    try:
        with mode_set("held"):
            yield
    finally:
        _SWEEP_WAIT["s"] = 0.0
        _claim(exiting)
        slot.release()


@contextlib.contextmanager
def held_for_children(emit: EventSink | None = None) -> Iterator[None]:
    """Take the slot in this process for the child processes it runs in parallel (``bench
    run --jobs N``, whose runs split the cores between them): inside, children see mode
    ``held`` and do not wait for it themselves (``emit`` hears :class:`SlotWaiting` if this
    process waits). With mode ``off`` nothing is taken."""
    if mode() != "wait":
        yield
        return
    slot = acquire(emit)
    try:
        with mode_set("held"):
            yield
    finally:
        slot.release()
