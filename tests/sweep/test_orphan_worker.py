"""`--executor process`: when the driver is killed with `kill -9`, its worker notices that its
parent is gone and stops, instead of training to the end of the run."""

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


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


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
            "1000",
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
    worker = None
    try:
        deadline = time.monotonic() + 120
        while worker is None and time.monotonic() < deadline and driver.poll() is None:
            found = [
                p
                for p in children(driver.pid)
                if "spawn_main" in cmdline(p) and "resource_tracker" not in cmdline(p)
            ]
            worker = found[0] if found else None
            time.sleep(0.2)
        assert worker is not None, "the worker process did not start"
        # it is training now (the run would take minutes): announced in the slot directory
        announced = slot.slot_dir() / "training" / f"{worker}.json"
        while not announced.exists() and time.monotonic() < deadline and alive(worker):
            time.sleep(0.05)
        assert announced.exists(), "the worker did not start training"
        assert alive(worker)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        deadline = time.monotonic() + 30
        while alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(worker), "the orphaned worker kept running"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        if worker is not None and alive(worker):
            os.kill(worker, signal.SIGKILL)  # only the worker this test started
