"""`--executor process`: when the driver is killed with `kill -9`, its worker notices that its
parent is gone and stops, instead of training to the end of the run; nothing the driver
started (the fork server the worker came from, multiprocessing's resource tracker) is left
running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.train import slot


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(word) for word in text.split()]


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.slow
def test_a_worker_stops_when_its_driver_is_killed(tmp_path):
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            "--arch",
            "mlp32",
            "--dataset",
            "synthetic",
            "--epochs",
            "100000",
            "--executor",
            "process",
            "--threads",
            "1",
            "--quiet",
            "--results",
            str(tmp_path / "R"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started: list[int] = []
    try:
        # the worker: the driver's descendant that trains (the run would take minutes),
        # announced in the slot directory
        training = slot.slot_dir() / "training"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and driver.poll() is None:
            started = descendants(driver.pid)
            if any((training / f"{pid}.json").exists() for pid in started):
                break
            time.sleep(0.05)
        workers = [pid for pid in started if (training / f"{pid}.json").exists()]
        assert len(workers) == 1 and alive(workers[0]), "the worker did not start training"
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(map(alive, started)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(workers[0]), "the orphaned worker kept running"
        assert not any(map(alive, started)), "a process the driver started kept running"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for pid in filter(alive, started):
            os.kill(pid, signal.SIGKILL)  # only processes this test's driver started
