"""The fast path computes what the reference loop computes; seed-parallel what sequential
runs compute; `bench speed` reports both side by side. (No timing is asserted here: timings
belong to `bench speed` and the pytest-benchmark suite.)"""

from __future__ import annotations

import dataclasses
import io

import pandas as pd
import pytest
import torch

import architectures
from bench.cli import main
from bench.config import UsageError, get_recipe
from bench.report import speed
from bench.sweep import sweep
from bench.train import runner
from bench.train.optim import make_optimizer
from tests.helpers import quick_config

METRICS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]


def numbers(result: runner.RunResult) -> list[list[float]]:
    assert result.status == "ok", result.message
    return [[epoch[k] for k in METRICS] for epoch in result.history]


@pytest.mark.parametrize(
    ("arch", "dataset", "normalize", "limits"),
    [
        ("mlp32", "synthetic", "unit", {}),
        ("digits_mlp", "digits", "zscore", {}),
        ("strongcnn", "mnist", "standard", {"limit_train": 300, "limit_test": 100}),
    ],
)
@pytest.mark.slow
def test_reference_loop_and_fast_path_give_identical_numbers(
    mnist_root, arch, dataset, normalize, limits
):
    # strongcnn brings dropout; MNIST goes through torchvision's MNIST + ToTensor + Normalize
    # (a slice: 6 batches an epoch, 2 epochs, with dropout, as many as equality needs)
    config = quick_config(arch, dataset=dataset, normalize=normalize, batch_size=50, **limits)
    fast = runner.execute(config, mnist_root)
    reference = runner.execute(dataclasses.replace(config, loader="reference"), mnist_root)
    assert numbers(fast) == numbers(reference)
    assert fast.run_id != reference.run_id  # the loader is part of the recorded config
    # the fast path skips torch's NaN fill of new tensors: recorded, and no number changed
    assert fast.environment["fill_uninitialized_memory"] is False
    assert reference.environment["fill_uninitialized_memory"] is True


def test_foreach_optimizer_is_bitwise_identical_to_the_default():
    x, y = torch.rand(32, 1, 28, 28), torch.randint(0, 10, (32,))
    weights = []
    for foreach in (False, True):
        torch.manual_seed(0)
        model = architectures.create("cnn")
        optimizer = make_optimizer(get_recipe("adam-bs64-e5"), model.parameters(), foreach)
        for _ in range(5):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(*weights)


def test_seed_parallel_matches_sequential_runs_per_seed():
    configs = [quick_config("mlp32", seed=s, lr=3e-3, epochs=2) for s in range(4)]
    sequential = [runner.execute(c) for c in configs]
    together = runner.execute_task([dataclasses.replace(c, seed_parallel=True) for c in configs])
    for alone, grouped in zip(sequential, together, strict=True):
        assert grouped.status == "ok" and grouped.metrics["parallel_seeds"] == 4
        for a, b in zip(numbers(alone), numbers(grouped), strict=True):
            assert a[1::2] == pytest.approx(b[1::2], abs=1e-4)  # accuracies, to 0.01 %
            assert a[0::2] == pytest.approx(b[0::2], rel=1e-4)  # losses
    # each seed keeps its own initialization and shuffle order: the seeds differ
    assert len({r.history[0]["train_loss"] for r in together}) == 4


@pytest.mark.slow
def test_seed_parallel_dropout_draws_each_seeds_own_masks():
    # strongcnn has dropout: each seed must draw its sequential run's masks (so the first
    # steps agree to float rounding), whichever seeds share its group
    short = {"lr": 1e-3, "epochs": 1, "limit_train": 128, "channels_last": True}  # 2 batches
    configs = [quick_config("strongcnn", seed=s, **short) for s in range(3)]
    sequential = [runner.execute(c) for c in configs[:2]]
    grouped = [dataclasses.replace(c, seed_parallel=True) for c in configs]
    together = runner.execute_task(grouped[:2])
    for alone, seed_parallel in zip(sequential, together, strict=True):
        first, second = alone.history[0], seed_parallel.history[0]
        assert second["train_loss"] == pytest.approx(first["train_loss"], rel=1e-6)
        assert second["train_acc"] == first["train_acc"]
    other_group = runner.execute_task(grouped[1:])
    assert numbers(other_group[0]) == numbers(together[1])  # seed 1, beside 0 or beside 2


def test_seed_parallel_checkpoints_are_each_seeds_own_weights():
    configs = [quick_config("slp", seed=s, epochs=1, seed_parallel=True) for s in (0, 1)]
    results = runner.execute_task(configs)
    states = [torch.load(io.BytesIO(r.checkpoint))["state_dict"] for r in results]
    assert not torch.equal(states[0]["1.weight"], states[1]["1.weight"])
    model = architectures.create("slp")
    model.load_state_dict(states[1])
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_seed_parallel_records_a_diverged_seed_and_keeps_the_others():
    good = [quick_config("mlp32", seed=s, seed_parallel=True) for s in (0, 1)]
    results = runner.execute_task(good)
    assert [r.status for r in results] == ["ok", "ok"]
    bad = [quick_config("mlp32", seed=s, lr=1e3, seed_parallel=True) for s in (0, 1)]
    assert {r.status for r in runner.execute_task(bad)} == {"diverged"}


def test_auto_seed_parallel_only_where_it_was_measured_faster():
    recipe = get_recipe("adam-bs64-e5")

    def resolved(arch, seeds=(0, 1), device="cpu", **options):
        configs = sweep.plan(
            [arch], "synthetic", recipe, seeds, [device], seed_parallel="auto", **options
        )
        return {c.seed_parallel for c in configs}

    assert resolved("mlp32") == {True}
    assert resolved("slp") == {True}
    assert resolved("tinycnn") == {False}  # convolutions: slower stacked on CPU
    assert resolved("mlp32", seeds=(0,)) == {False}
    assert resolved("mlp32", device="cuda") == {False}
    assert resolved("mlp32", loader="reference") == {False}
    assert resolved("mlp256_128") == {True}
    assert resolved("strongcnn") == {False}  # dropout: masks would differ from sequential
    with pytest.raises(UsageError, match="--seed-parallel on needs the fast loader"):
        sweep.plan(
            ["mlp32"], "synthetic", recipe, [0, 1], ["cpu"], seed_parallel="on", loader="reference"
        )


def test_group_tasks_keeps_seeds_of_one_variant_together():
    parallel = [quick_config("mlp32", seed=s, seed_parallel=True) for s in range(3)]
    other = quick_config("mlp32", seed=0, lr=1e-2, seed_parallel=True)
    single = quick_config("cnn", seed=0)
    tasks = runner.group_tasks([*parallel, other, single])
    assert [[c.seed for c in task] for task in tasks] == [[0, 1, 2], [0], [0]]


def test_cli_seed_parallel_on_and_off_give_the_same_accuracies(tmp_path, capsys):
    common = [
        "run",
        "--arch",
        "mlp32",
        "--dataset",
        "synthetic",
        "--epochs",
        "1",
        "--seeds",
        "0-3",
        "--device",
        "cpu",
        "--quiet",
    ]
    tables = {}
    for mode in ("on", "off"):
        assert main([*common, "--seed-parallel", mode, "--results", str(tmp_path / mode)]) == 0
        capsys.readouterr()
        assert main(["results", "--results", str(tmp_path / mode), "--format", "csv"]) == 0
        tables[mode] = pd.read_csv(io.StringIO(capsys.readouterr().out)).sort_values("seed")
    assert tables["on"].test_acc.tolist() == pytest.approx(
        tables["off"].test_acc.tolist(), abs=1e-4
    )
    assert tables["on"].status.tolist() == ["ok"] * 4


@pytest.mark.slow
def test_bench_speed_prints_both_accuracies(capsys, monkeypatch):
    from bench.train import timing

    # judged as on an idle machine: what is printed is the point, not contention (a busy
    # machine's refusal has its own test below); beside other work every round was refused
    monkeypatch.setattr(timing, "runnable_others", lambda: 0)
    threads = 1 if torch.get_num_threads() != 1 else 2  # for its runs and matmul rate only
    options = ["--parallel-seeds", "2", "--format", "csv", "--threads", str(threads)]
    code = main(["speed", "--arch", "mlp32", "--dataset", "synthetic", "--epochs", "1", *options])
    assert code == 0
    out, err = capsys.readouterr()
    assert f"GFLOP/s ({threads} threads)" in err
    loaders, parallel = (pd.read_csv(io.StringIO(part)) for part in out.strip().split("\n\n"))
    row = loaders.iloc[0]
    assert row["architecture"] == "mlp32"
    assert row["reference test acc"] == row["archbench test acc"]
    assert row["ratio"] > 0 and row["archbench GFLOP/s"] > 0
    assert parallel.iloc[0]["seeds"] == 2
    assert parallel.iloc[0]["max per-seed test acc difference (pp)"] <= 0.01


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
def test_speed_on_a_missing_device_is_refused_before_timing(capsys):
    assert main(["speed", "--arch", "mlp32", "--device", "cuda"]) == 2
    captured = capsys.readouterr()
    assert "CUDA is not available here" in captured.err and "matmul" not in captured.err


def test_matmul_rate_is_measured():
    assert speed.matmul_gflops(size=256, repeats=2) > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fast_path_matches_cpu_within_tolerance():
    cpu = runner.execute(quick_config("cnn"))
    gpu = runner.execute(quick_config("cnn", device="cuda"))
    assert gpu.status == "ok" and gpu.environment["device"] == "cuda"
    assert gpu.metrics["test_acc"] == pytest.approx(cpu.metrics["test_acc"], abs=0.02)
    assert gpu.metrics["peak_mem_kind"] == "cuda_allocated"


def test_fast_path_settings_are_resolved_per_model_and_recorded():
    recipe = get_recipe("adam-bs64-e5")

    def settings(arch, **options):
        (config,) = sweep.plan([arch], "synthetic", recipe, [0], ["cpu"], **options)
        return config.channels_last, config.fused_optimizer

    assert settings("tinycnn") == (True, True)  # convolutions: NHWC on CPU
    assert settings("mlp32") == (False, True)
    assert settings("tinycnn", loader="reference") == (False, False)  # the usual loop
    assert settings("tinycnn", channels_last=False, fused_optimizer=False) == (False, False)
    (auto,) = sweep.plan(["cnn"], "synthetic", recipe, [0], ["cpu"])
    (plain,) = sweep.plan(["cnn"], "synthetic", recipe, [0], ["cpu"], channels_last=False)
    assert auto.run_id != plain.run_id


def test_fast_path_settings_hold_the_numbers():
    # NHWC convolutions and the fused optimizer round differently, nothing more
    plain = runner.execute(quick_config("cnn", epochs=1))
    fast = runner.execute(quick_config("cnn", epochs=1, channels_last=True, fused_optimizer=True))
    assert fast.status == "ok"
    assert fast.history[0]["train_loss"] == pytest.approx(plain.history[0]["train_loss"], rel=1e-4)
    assert fast.metrics["test_acc"] == pytest.approx(plain.metrics["test_acc"], abs=0.01)


@pytest.mark.slow
def test_bench_speed_repeats_a_contended_round_and_refuses_a_ratio_from_it(capsys):
    """Beside processes that keep every core busy (they stop themselves), every round is
    contended: each is repeated, saying so, and no ratio is printed."""
    from bench.train import timing
    from tests.train.test_timing import start_burners, stop

    threads = str(min(2, timing.cores()))
    burners = start_burners(timing.cores(), seconds=120)
    try:
        code = main(
            [
                "speed",
                "--arch",
                "mlp32",
                "--dataset",
                "synthetic",
                "--epochs",
                "1",
                "--parallel-seeds",
                "0",
                "--threads",
                threads,
            ]
        )
    finally:
        stop(burners)
    captured = capsys.readouterr()
    assert code == 1
    said = captured.out + captured.err
    for attempt in range(2, speed.TRIES + 1):
        assert f"repeating the round (try {attempt} of {speed.TRIES})" in said
    assert f"mlp32 round 1 was contended in all {speed.TRIES} tries (load: " in captured.err
    assert "ratio" not in captured.out
