"""Executors: process and Ray runs equal local ones bit for bit and land in the same store;
a crashing, hanging or raising task is recorded and the sweep goes on; bad executor options
and a missing Ray are one line and exit 2."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import time

import pandas as pd
import pytest
import torch

from bench.cli import main
from bench.store import ResultsStore, load
from bench.sweep import sweep
from bench.sweep.executors import LocalExecutor, ProcessExecutor, run_task
from tests.helpers import bench_main, quick_config
from tests.usercode_helpers import (  # noqa: F401  (clean_registries: a fixture)
    QUICK_RUN,
    clean_registries,
    write,
    write_npz,
)

RUN_NUMBERS = [
    "status",
    "message",
    "arch",
    "seed",
    "epochs_completed",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "best_epoch",
    "best_val_acc",
    "test_acc_at_best",
    "n_train",
    "n_val",
    "n_test",
    "params",
    "mult_adds",
    "threads",
]
HISTORY_NUMBERS = [
    "run_id",
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "lr",
]  # timings excluded: they differ between any two runs
SUITE = [
    "--arch",
    "mlp32",
    "tinycnn",
    "--dataset",
    "synthetic",
    "--epochs",
    "1",
    "--seeds",
    "0,1",
    "--device",
    "cpu",
    "--quiet",
]


def stored(directory, run_ids=None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The numbers a results directory holds: runs, per-epoch history and final weights."""
    tables = load(directory)
    runs = tables.runs.set_index("run_id").sort_index()
    if run_ids is not None:
        runs = runs.loc[sorted(run_ids)]
    history = tables.history[tables.history.run_id.isin(runs.index)]
    history = history.sort_values(["run_id", "epoch"]).reset_index(drop=True)
    weights = {
        run_id: torch.load(directory / path, weights_only=True)["state_dict"]
        for run_id, path in runs.checkpoint.dropna().items()
    }
    return runs[RUN_NUMBERS], history[HISTORY_NUMBERS], weights


def assert_same_numbers(first, second) -> None:
    runs_a, history_a, weights_a = first
    runs_b, history_b, weights_b = second
    # exact values; a column with an error row's NaN is float where the other's is int
    pd.testing.assert_frame_equal(runs_a, runs_b, check_exact=True, check_dtype=False)
    pd.testing.assert_frame_equal(history_a, history_b, check_exact=True)
    assert weights_a.keys() == weights_b.keys() and weights_a
    for run_id, state in weights_a.items():
        assert all(torch.equal(state[k], weights_b[run_id][k]) for k in state)


@pytest.fixture
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def exits_for_seed_1(task, data_root, targets):
    """A task body whose process dies without a word for seed 1 (as a segfault would)."""
    if any(config.seed == 1 for config in task):
        os._exit(1)
    return run_task(task, data_root, targets)


def hangs(task, data_root, targets):
    time.sleep(600)


def says_what_it_saw(task, data_root, targets):
    """A task body that also records, in each run's environment, what its process saw: the
    variable the test sets, whether CUDA came initialized from the process it was forked
    from, and its parent's pid as multiprocessing knows it."""
    results = run_task(task, data_root, targets)
    for result in results:
        result.environment["saw"] = {
            "mark": os.environ.get("ARCHBENCH_TEST_MARK"),
            "cuda_from_a_fork": torch.cuda._is_in_bad_fork(),
            "parent": multiprocessing.parent_process().pid,
        }
    return results


@pytest.mark.slow
def test_process_executor_records_a_dead_worker_and_matches_local_bitwise(tmp_path):
    configs = [quick_config("mlp32", seed, epochs=1) for seed in (0, 1)]
    process_summary = sweep.run(
        configs, ResultsStore(tmp_path / "P"), executor=ProcessExecutor(task_fn=exits_for_seed_1)
    )
    assert process_summary.counts == {"ok": 1, "error": 1}
    runs = load(tmp_path / "P").runs
    died = runs[runs.seed == 1]
    assert (died.message == "worker process died (exit code 1)").all()
    assert died.env_json.str.contains('"executor": "process"').all()

    seed_0 = [config for config in configs if config.seed == 0]
    sweep.run(seed_0, ResultsStore(tmp_path / "L"), executor=LocalExecutor())
    ids = {config.run_id for config in seed_0}
    assert_same_numbers(stored(tmp_path / "P", ids), stored(tmp_path / "L", ids))


@pytest.mark.slow  # starts the fork server when it is the first in its process
def test_each_process_child_sees_the_drivers_environment_as_it_is_then(tmp_path, monkeypatch):
    """The children come from a fork server started with the first of them; what the driver
    set in its environment since reaches the later ones all the same (as with "spawn"), and
    none inherits an initialized CUDA."""
    seen = []
    for seed, mark in enumerate(["first", "second"]):
        monkeypatch.setenv("ARCHBENCH_TEST_MARK", mark)
        store = tmp_path / mark
        executor = ProcessExecutor(task_fn=says_what_it_saw)
        summary = sweep.run(
            [quick_config(seed=seed, epochs=1)], ResultsStore(store), executor=executor
        )
        assert summary.counts == {"ok": 1}
        seen += [json.loads(env)["saw"] for env in load(store).runs.env_json]
    assert seen == [
        {"mark": mark, "cuda_from_a_fork": False, "parent": os.getpid()}
        for mark in ["first", "second"]
    ]


@pytest.mark.slow
def test_process_executor_kills_a_task_past_its_timeout(tmp_path):
    executor = ProcessExecutor(timeout_s=3, task_fn=hangs)
    summary = sweep.run([quick_config()], ResultsStore(tmp_path), executor=executor)
    assert summary.counts == {"error": 1}
    assert load(tmp_path).runs.message.tolist() == ["timed out after 3 s (--timeout)"]


def test_executor_ray_without_ray_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    assert main(["run", *SUITE, "--executor", "ray", "--results", str(tmp_path / "R")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'archbench[ray]'" in err
    assert not (tmp_path / "R").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--ray-address", "auto"], "--ray-address applies to --executor ray only"),
        (["--executor", "process", "--cpus-per-task", "2"], "--cpus-per-task applies to"),
        (["--timeout", "60"], "--timeout needs --executor process or ray"),
        (["--executor", "process", "--timeout", "0"], "--timeout must be > 0"),
    ],
)
def test_invalid_executor_options_are_one_line_and_write_nothing(tmp_path, capsys, args, expected):
    assert main(["run", *SUITE, *args, "--results", str(tmp_path / "R")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err
    assert not (tmp_path / "R").exists()


def test_an_unreachable_ray_address_is_one_line(tmp_path, capsys):
    pytest.importorskip("ray")
    args = ["--executor", "ray", "--ray-address", "127.0.0.1:1", "--results", str(tmp_path / "R")]
    assert main(["run", *SUITE, *args]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "cannot reach the Ray cluster at --ray-address 127.0.0.1:1" in err
    )
    assert not (tmp_path / "R").exists()


@pytest.mark.parametrize("token", [None, "not-the-clusters"])
@pytest.mark.parametrize("failure", ["connection", "authentication"])
def test_a_ray_cluster_that_answers_but_cannot_be_joined_names_token_authentication(
    tmp_path, capsys, monkeypatch, failure, token
):
    """Ray 2.60's `ray start --head` expects the cluster's token from every driver: joining
    HOST:PORT without it fails although the cluster runs (`--ray-address auto` works on the
    head). The line says so instead of telling the user to start a cluster."""
    ray = pytest.importorskip("ray")
    from bench.sweep import ray_executor

    errors = {
        "connection": ConnectionError("Failed to connect to GCS at address 10.0.0.5:6379"),
        "authentication": ray.exceptions.AuthenticationError("Invalid authentication token"),
    }

    def refuse(**options):
        raise errors[failure]

    monkeypatch.setattr(ray_executor, "cannot_reach", lambda address: None)  # it answers
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    if token is None:
        monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    else:
        monkeypatch.setenv("RAY_AUTH_TOKEN", token)
    args = ["--executor", "ray", "--ray-address", "10.0.0.5:6379"]
    assert main(["run", *SUITE, *args, "--results", str(tmp_path / "R")]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "cannot join the Ray cluster at --ray-address 10.0.0.5:6379" in err
    )
    assert "token authentication" in err and "RAY_AUTH_TOKEN" in err
    assert "--ray-address auto" in err and "ray get-auth-token" in err
    assert ("is set here" in err) == (token is not None)
    assert "ray.io" not in err  # Ray's own advice is not repeated
    assert not (tmp_path / "R").exists()


# --- Ray ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_local(data_root):
    """A local Ray instance with 2 CPUs for this module; executors find it and use it."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARCHBENCH_DATA", str(data_root))  # workers inherit it
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
        )
    yield ray
    ray.shutdown()


@pytest.mark.slow  # starts a Ray instance
def test_ray_results_equal_local_results_bitwise(ray_local, tmp_path, keep_threads):
    # Ray starts workers with one thread (OMP_NUM_THREADS=1); runs must use the driver's two
    common = [*SUITE, "--threads", "2"]
    assert main(["run", *common, "--results", str(tmp_path / "L")]) == 0
    ray_args = ["--executor", "ray", "--cpus-per-task", "1", "--results", str(tmp_path / "R")]
    assert main(["run", *common, *ray_args]) == 0
    local, ray = stored(tmp_path / "L"), stored(tmp_path / "R")
    assert len(ray[0]) == 4 and (ray[0].status == "ok").all() and (ray[0].threads == 2).all()
    assert len(ray[1]) == 4  # one epoch each
    assert_same_numbers(ray, local)
    assert load(tmp_path / "R").runs.env_json.str.contains('"executor": "ray"').all()


@pytest.mark.slow  # trains in a child process and on Ray
@pytest.mark.usefixtures("clean_registries")
def test_ray_gives_the_same_numbers_as_local_for_user_code_and_data(ray_local, tmp_path):
    """One small run: a factory from a file on an .npz dataset, local, in a child process and
    on Ray (where each worker imports the file and checks its hash)."""
    npz = write_npz(tmp_path / "d.npz", classes=3)
    write(
        tmp_path / "small.py",
        """
        from torch import nn

        def small(num_classes):
            return nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.ReLU(),
                                 nn.Linear(8, num_classes))
    """,
    )
    outputs = {}
    for executor in ("local", "process", "ray"):
        results = tmp_path / executor
        proc = bench_main(
            "run",
            "--arch",
            f"{tmp_path}/small.py:small",
            "--dataset",
            str(npz),
            "--executor",
            executor,
            "--results",
            str(results),
            *QUICK_RUN,
        )
        assert proc.returncode == 0, proc.stderr
        history = bench_main("results", "--results", str(results), "--history", "--format", "csv")
        columns = [line.split(",")[:11] for line in history.stdout.splitlines()]
        outputs[executor] = columns
    assert outputs["local"] == outputs["process"] == outputs["ray"]
    assert len(outputs["local"]) == 2  # the header and the one epoch


@pytest.mark.slow  # starts a Ray instance
def test_a_failing_ray_task_is_recorded_and_the_others_complete(ray_local, tmp_path):
    from bench.sweep.ray_executor import RayExecutor

    def fails_by_seed(task, data_root, targets):  # pickled by value into the workers
        seed = task[0].seed
        if seed == 1:
            raise RuntimeError("injected failure inside the Ray task")
        if seed == 2:
            os._exit(3)
        if seed == 3:
            time.sleep(600)
        return run_task(task, data_root, targets)

    configs = [quick_config(seed=seed, epochs=1, threads=1) for seed in range(4)]
    executor = RayExecutor(cpus_per_task=1, timeout_s=8, task_fn=fails_by_seed)
    summary = sweep.run(configs, ResultsStore(tmp_path), executor=executor)
    assert summary.counts == {"ok": 1, "error": 3}
    runs = load(tmp_path).runs.set_index("seed")
    assert runs.status[0] == "ok" and runs.test_acc[0] > 0
    assert runs.message[1] == "Ray task raised RuntimeError: injected failure inside the Ray task"
    assert "injected failure" in runs.traceback[1]
    assert runs.message[2].startswith("Ray worker died: WorkerCrashedError")
    assert runs.message[3] == "timed out after 8 s (--timeout)"
    assert ray_local.is_initialized()  # a connection the executor did not open stays open
