"""--vary: only the named random stream follows the seed; the rest stay at seed 0."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from bench.config import RunConfig, seeding
from bench.store import ResultsStore
from bench.train.runner import build_model
from tests.helpers import bench_main, quick_config

SHORT = [
    "--dataset",
    "synthetic",
    "--epochs",
    "1",
    "--limit-train",
    "128",
    "--val-size",
    "0",
    "--batch-size",
    "64",
    "--lr",
    "1e-3",
]


def stored(results) -> list[tuple[RunConfig, dict]]:
    store = ResultsStore(results)
    runs = store.runs().sort_values("seed")
    return [
        (
            RunConfig.from_json(row.config_json),
            torch.load(store.checkpoint_path(row.run_id))["state_dict"],
        )
        for row in runs.itertuples()
    ]


@pytest.mark.slow
def test_vary_order_keeps_the_initial_weights_and_changes_the_shuffle(tmp_path):
    done = bench_main(
        "run",
        "--arch",
        "mlp32",
        "--vary",
        "order",
        "--seeds",
        "0-3",
        *SHORT,
        "--results",
        str(tmp_path),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    runs = stored(tmp_path)
    assert [c.vary for c, _ in runs] == ["order"] * 4
    assert len({c.run_id for c, _ in runs}) == 4
    initial = [build_model(c, torch.device("cpu")).state_dict() for c, _ in runs]
    for other in initial[1:]:
        assert all(torch.equal(initial[0][k], other[k]) for k in initial[0])
    orders = [
        torch.randperm(128, generator=seeding.generator(c.seed, "shuffle", vary=c.vary))
        for c, _ in runs
    ]
    assert len({tuple(o.tolist()) for o in orders}) == 4
    # two Adam steps from the same start on differently ordered batches: the checkpoints
    # differ, and only by the two steps each took (Adam moves a weight at most ~lr per
    # step, so two runs end at most ~4 lr apart) while two initializations differ far more
    final = [state for _, state in runs]
    for state in final[1:]:
        gaps = [(state[k] - final[0][k]).abs().max().item() for k in state]
        assert 0 < max(gaps) <= 4.1e-3
    seeds_apart = [
        build_model(
            dataclasses.replace(runs[0][0], seed=s, vary="all"), torch.device("cpu")
        ).state_dict()
        for s in (0, 1)
    ]
    gap = max((seeds_apart[0][k] - seeds_apart[1][k]).abs().max().item() for k in seeds_apart[0])
    assert gap > 0.05


def test_vary_init_changes_only_the_weights():
    a, b = (quick_config(seed=s, vary="init") for s in (0, 1))
    wa, wb = (build_model(c, torch.device("cpu")).state_dict() for c in (a, b))
    assert any(not torch.equal(wa[k], wb[k]) for k in wa)
    for stream in ("shuffle", "dropout", "augment"):
        assert seeding.stream_seed(1, stream, "init") == 0
    assert seeding.stream_seed(1, "init", "init") == 1
    assert seeding.stream_seed(1, "dropout", "dropout") == 1
    assert all(seeding.stream_seed(5, s, "all") == 5 for s in seeding.STREAMS)


def test_vary_all_keeps_todays_run_ids_and_the_others_get_new_ones():
    config = quick_config(seed=3, epochs=5)  # the recipe adam-bs64-e5 as it is
    # computed with the code before --vary existed: stores written then keep resuming
    assert config.run_id == "37c90c78553e8721"
    assert "vary" not in config.identity()
    varied = quick_config(seed=3, epochs=5, vary="order")
    assert varied.run_id != config.run_id and varied.identity()["vary"] == "order"
    assert RunConfig.from_json(varied.to_json()) == varied
    assert RunConfig.from_json(config.to_json()).vary == "all"


def test_an_unknown_vary_is_refused_in_one_line(tmp_path):
    done = bench_main("run", "--arch", "mlp32", "--vary", "weights", "--results", str(tmp_path))
    assert done.returncode == 2 and "--vary" in done.stderr
