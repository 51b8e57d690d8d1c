"""The conditions a run's training was timed under, and its ``timing`` verdict.

Recorded with every run (keys of :meth:`TimingWatch.conditions`):

- ``cpu_s``: the process's CPU time (user + sys, all threads) while training, beside
  ``cpu_wall_s``, the wall time of the same stretch, and ``cpu_util`` = cpu_s / (wall x
  threads): near its clean value when the run's threads had their cores, far below when
  they waited for cores another process held;
- ``load1_start`` / ``load1_end``: the 1-minute load average;
- ``runnable_start`` / ``runnable_end``: threads of *other* processes ready to run (the
  machine's runnable count from ``/proc/loadavg`` minus this process's own running threads;
  the median of a few readings);
- ``others_training``: the most other archbench processes seen training at once (they
  announce themselves in the slot directory, :mod:`bench.train.slot`), ``slot_wait_s``.

The verdict is ``contended`` when, during training, (a) other processes' runnable threads
exceeded the cores left for this run (cores - threads) in most of the readings taken at
start, every :data:`SAMPLE_EVERY_S` and at the end (their lower median: a run shorter than
the sampling period has two readings, and one blip in them is not contention), or (b) other
archbench processes trained beside it with more threads than the cores left, or (c) (decided
later, by the sweep, see :func:`against_clean`) ``cpu_util`` was below :data:`UTIL_FLOOR` of
what clean runs of the same config reach. Otherwise ``clean``. The reasons are kept in
``timing_reason``.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.train import slot

SAMPLE_EVERY_S = 0.5
READINGS = 3  # quick readings per sample, their median kept (a blip is not contention)
UTIL_FLOOR = 0.6  # contended below this fraction of the clean runs' CPU utilisation


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load1() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _own_running() -> int:
    running = 0
    for stat in Path("/proc/self/task").glob("*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.rindex(")") + 2] == "R":
            running += 1
    return running


def runnable_others() -> int | None:
    """Threads of other processes ready to run now (the median of :data:`READINGS` readings
    a few ms apart); None where ``/proc`` does not say."""
    values = []
    for index in range(READINGS):
        try:
            machine = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return None
        values.append(max(0, machine - _own_running()))
        if index + 1 < READINGS:
            time.sleep(0.003)
    return int(statistics.median(values))


def cpu_seconds() -> float:
    """This process's CPU time, user + sys, all threads (ns resolution)."""
    return time.process_time()


def busy_warning(threads: int) -> str | None:
    """One line when the machine is busy before a run starts: more threads of other
    processes ready to run than the cores a run of ``threads`` leaves free (where ``/proc``
    does not say: a 1-minute load above them); else None."""
    n, load = cores(), load1()
    free = max(n - threads, 0)
    runnable = runnable_others()
    busy = runnable > free if runnable is not None else load is not None and load > free + 0.5
    if not busy:
        return None
    now = f"{runnable} runnable thread(s) of other processes, " if runnable is not None else ""
    return (
        f"warning: this machine is busy ({now}1-minute load {load:.2f} on {n} cores; runs "
        f"here use {threads} thread(s)): runs that train beside other work are recorded as "
        "contended and their times kept out of the report's time statistics"
    )


class TimingWatch:
    """Watches one training stretch: ``start()``, ``stop()``, then :meth:`conditions`."""

    def __init__(self, threads: int, device: str = "cpu", slot_wait_s: float = 0.0):
        self.threads, self.device, self.slot_wait_s = max(1, threads), device, slot_wait_s
        self.readings: list[int] = []
        self.others: list[list[dict]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.start_sample: dict[str, Any] = {}
        self.end_sample: dict[str, Any] = {}

    def _sample(self) -> dict[str, Any]:
        runnable = runnable_others()
        if runnable is not None:
            self.readings.append(runnable)
        self.others.append(slot.others_training())
        return {"load1": load1(), "runnable": runnable}

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._sample()

    def start(self) -> TimingWatch:
        self.start_sample = self._sample()
        self._cpu0, self._t0 = cpu_seconds(), time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name="archbench-timing", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> TimingWatch:
        self.cpu_s = cpu_seconds() - self._cpu0
        self.wall_s = time.perf_counter() - self._t0
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.end_sample = self._sample()
        return self

    def close(self) -> None:
        """Stop sampling (training raised before :meth:`stop`)."""
        self._stop.set()

    def conditions(self, share: int = 1) -> dict[str, Any]:
        """The recorded conditions and verdict; ``share``: seeds trained together (CPU time
        and wall time are divided among them like the other times)."""
        util = self.cpu_s / (self.wall_s * self.threads) if self.wall_s > 0 else None
        most = max(self.others, key=len, default=[])
        values = {
            "cpu_s": self.cpu_s / share,
            "cpu_wall_s": self.wall_s / share,
            "cpu_util": util,
            "load1_start": self.start_sample.get("load1"),
            "load1_end": self.end_sample.get("load1"),
            "runnable_start": self.start_sample.get("runnable"),
            "runnable_end": self.end_sample.get("runnable"),
            "others_training": len(most),
            "slot_wait_s": self.slot_wait_s,
        }
        reasons = []
        left = max(cores() - self.threads, 0)
        load = statistics.median_low(self.readings) if self.readings else 0
        if load > left:
            reasons.append(
                f"load: {load} runnable thread(s) of other "
                f"processes, {left} core(s) left beside this run's {self.threads}"
            )
        if most and sum(o["threads"] for o in most) > left:
            pids = ", ".join(str(o["pid"]) for o in most)
            reasons.append(f"another archbench process trained beside it (pid {pids})")
        values["timing"] = "contended" if reasons else "clean"
        values["timing_reason"] = "; ".join(reasons) or None
        return values


def against_clean(conditions: dict[str, Any], clean_utils: list[float]) -> dict[str, Any]:
    """``conditions`` with verdict (c) applied: ``contended`` when its CPU utilisation is
    below :data:`UTIL_FLOOR` of the median over ``clean_utils`` (clean runs of the same
    config, CPU only). Returns a new dict."""
    util = conditions.get("cpu_util")
    if util is None or not clean_utils:
        return conditions
    reference = statistics.median(clean_utils)
    if util >= UTIL_FLOOR * reference:
        return conditions
    reason = (
        f"CPU time / (wall x threads) {util:.2f}, clean runs of this config reach {reference:.2f}"
    )
    previous = conditions.get("timing_reason")
    return {
        **conditions,
        "timing": "contended",
        "timing_reason": f"{previous}; {reason}" if previous else reason,
    }
