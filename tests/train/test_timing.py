"""The conditions of a run's timing and its verdict (bench/train/timing.py), and the
machine-wide training slot (bench/train/slot.py).

test_run_beside_a_cpu_burner_is_contended_and_alone_clean needs an idle machine for its clean
half: on a machine busy with other work, the run alone is (rightly) contended too."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from bench.train import execute, slot, timing
from tests.helpers import quick_config

BURN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def start_burners(n: int, seconds: float) -> list[subprocess.Popen]:
    """``n`` processes that each keep one core busy, and stop by themselves after
    ``seconds``."""
    burners = [
        subprocess.Popen([sys.executable, "-c", BURN.format(seconds=seconds)]) for _ in range(n)
    ]
    deadline = time.time() + 10
    while (timing.runnable_others() or 0) < n and time.time() < deadline:
        time.sleep(0.05)  # until they are all running
    return burners


def stop(burners: list[subprocess.Popen]) -> None:
    for burner in burners:
        burner.terminate()
    for burner in burners:
        burner.wait(timeout=10)


@pytest.mark.parametrize(
    ("readings", "verdict"),
    [([0, 1], "clean"), ([1, 0], "clean"), ([1, 1], "contended"), ([0, 1, 1], "contended")],
)
def test_most_readings_must_show_other_work_for_a_contended_verdict(monkeypatch, readings, verdict):
    """A run shorter than the sampling period is read twice (start, end): another thread
    runnable at one of the two readings (a kernel thread's blip) does not make it contended."""
    left = iter(readings)
    monkeypatch.setattr(timing, "runnable_others", lambda: next(left))
    watch = timing.TimingWatch(threads=timing.cores()).start()
    for _ in readings[2:]:
        watch._sample()  # what the sampling thread adds during a longer run
    conditions = watch.stop().conditions()
    assert conditions["timing"] == verdict, conditions["timing_reason"]


@pytest.mark.slow
@pytest.mark.alone  # "alone" is judged clean only on an idle machine
def test_run_beside_a_cpu_burner_is_contended_and_alone_clean():
    threads = min(2, timing.cores())
    config = quick_config("mlp32", threads=threads, epochs=3)
    burners = start_burners(timing.cores(), seconds=60)
    try:
        busy = execute(config)
    finally:
        stop(burners)
    assert busy.status == "ok"
    assert busy.metrics["timing"] == "contended"
    assert busy.metrics["timing_reason"].startswith("load: ")
    assert busy.metrics["runnable_start"] >= timing.cores()
    time.sleep(0.5)
    alone = execute(config)
    assert alone.metrics["timing"] == "clean", alone.metrics["timing_reason"]
    # fewer than the burners: a thread of the machine's own (a kernel thread, another test
    # process's idle Ray instance) may be runnable at a reading, as the verdict allows
    assert alone.metrics["runnable_start"] < timing.cores()
    for result in (busy, alone):  # the conditions are recorded either way
        metrics = result.metrics
        assert metrics["cpu_s"] > 0 and metrics["cpu_wall_s"] >= metrics["time_train_s"]
        assert metrics["cpu_util"] == metrics["cpu_s"] / (metrics["cpu_wall_s"] * threads)
        assert metrics["load1_start"] is not None and metrics["load1_end"] is not None
        assert metrics["others_training"] == 0
    assert busy.metrics["test_acc"] == alone.metrics["test_acc"]  # timing changes no number


def test_another_archbench_process_training_makes_a_run_contended(tmp_path):
    """Announced in the slot directory by a process that trains with all the cores."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (slot.slot_dir() / "training").mkdir(parents=True, exist_ok=True)
        entry = slot.slot_dir() / "training" / f"{other.pid}.json"
        entry.write_text(f'{{"pid": {other.pid}, "threads": {timing.cores()}}}')
        result = execute(quick_config("mlp32", threads=1, epochs=1))
    finally:
        other.kill()
        other.wait()
    assert result.metrics["others_training"] == 1
    assert result.metrics["timing"] == "contended"
    assert (
        f"another archbench process trained beside it (pid {other.pid})"
        in (result.metrics["timing_reason"])
    )
    assert slot.others_training() == []  # a dead process's entry is cleaned up
    assert not entry.exists()


def test_the_slot_tells_a_reused_pid_from_the_process_that_recorded_it():
    """An entry of the slot directory names its process by pid and start time: a live process
    whose start time differs got that pid later, so the entry's process is gone."""
    with slot.announced(3):
        mine = json.loads((slot.slot_dir() / "training" / f"{os.getpid()}.json").read_text())
    assert mine["pid"] == os.getpid() and mine["started"] == slot.start_time(os.getpid())
    assert mine["started"] is not None  # Linux: /proc gives it
    holder_file = slot.slot_dir() / "holder.json"
    kept = holder_file.read_bytes() if holder_file.exists() else None
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = slot.start_time(other.pid)
        directory = slot.slot_dir() / "training"
        entry = directory / f"{other.pid}.json"
        entry.write_text(json.dumps({"pid": other.pid, "started": started, "threads": 2}))
        assert slot.others_training() == [{"pid": other.pid, "threads": 2}]
        # the same pid, but the process that wrote the entry started at another time
        entry.write_text(json.dumps({"pid": other.pid, "started": started - 1, "threads": 2}))
        assert slot.others_training() == []
        assert not entry.exists()  # cleaned up like a dead process's entry
        # a previous holder that said it exits, whose pid now belongs to another process:
        # the next holder does not wait for it
        holder = {"pid": other.pid, "started": started + 1, "exiting": True}
        holder_file.write_text(json.dumps(holder))
        previous = slot._holder_entry()
        assert previous["started"] == started + 1
        assert not slot._alive(previous["pid"], previous["started"])
        assert slot._alive(other.pid, started) and slot._alive(other.pid)
    finally:
        other.kill()
        other.wait()
        if kept is None:
            holder_file.unlink(missing_ok=True)
        else:
            holder_file.write_bytes(kept)


def test_cpu_util_far_below_clean_runs_of_the_config_is_contended():
    clean = {"timing": "clean", "timing_reason": None, "cpu_util": 0.3}
    judged = timing.against_clean(clean, [0.9, 0.95, 0.8])
    assert judged["timing"] == "contended"
    assert judged["timing_reason"] == (
        "CPU time / (wall x threads) 0.30, clean runs of this config reach 0.90"
    )
    assert timing.against_clean({**clean, "cpu_util": 0.7}, [0.9])["timing"] == "clean"
    assert timing.against_clean(clean, [])["timing"] == "clean"  # nothing to compare with


@pytest.mark.slow
def test_the_slot_makes_a_second_process_wait_while_a_run_trains():
    """A run waits for the slot another process holds and says so; the wait is recorded,
    and is not part of the run's times. The other process lets go 0.6 s after the run said it
    waits (a line on its stdin)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from bench.train import slot\n"
            "with slot.training(1):\n    print('held', flush=True); sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def let_go() -> None:
        with contextlib.suppress(ValueError, OSError):  # (closed already: the test failed)
            holder.stdin.write("go\n")
            holder.stdin.flush()

    said: list = []

    def heard(event) -> None:
        said.append(event)
        threading.Timer(0.6, let_go).start()

    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.perf_counter()
        with slot.training(1, heard) as waited:
            elapsed = time.perf_counter() - t0
    finally:
        holder.stdin.close()  # it lets go at the latest now (end of its input)
        holder.wait(timeout=30)
    assert waited > 0.5 and elapsed >= waited
    assert [event.text for event in said] == [
        f"waiting for the machine-wide training slot (held by archbench pid {holder.pid})"
    ]


def test_with_no_wait_a_run_does_not_take_the_slot(monkeypatch):
    monkeypatch.setenv(slot.ENV_MODE, "off")
    held = slot.lock()
    held.acquire()
    try:
        done = threading.Event()

        def train() -> None:
            execute(quick_config("mlp32", threads=1, epochs=1))
            done.set()

        worker = threading.Thread(target=train)
        worker.start()
        worker.join(timeout=60)
        assert done.is_set()
    finally:
        held.release()
