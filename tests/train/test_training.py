"""The training loop and one run: determinism, seeds, validation-only selection, failures."""

from __future__ import annotations

import io
import math

import pytest
import torch

import architectures
from bench.config import RunConfig, get_recipe, seeding
from bench.data import augment
from bench.train import loop as train
from bench.train import runner
from tests.helpers import quick_config


def test_same_config_and_seed_on_cpu_is_bitwise_identical():
    # strongcnn has dropout: its stream must be seeded too
    config = quick_config("strongcnn", limit_train=256, limit_test=64, val_size=64)
    first, second = runner.execute(config), runner.execute(config)
    assert first.status == second.status == "ok"
    keys = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]
    assert [[e[k] for k in keys] for e in first.history] == [
        [e[k] for k in keys] for e in second.history
    ]
    assert first.checkpoint is not None
    a = torch.load(io.BytesIO(first.checkpoint))["state_dict"]
    b = torch.load(io.BytesIO(second.checkpoint))["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_different_seeds_differ():
    a = runner.execute(quick_config(seed=0, epochs=1))
    b = runner.execute(quick_config(seed=1, epochs=1))
    assert a.history[0]["train_loss"] != b.history[0]["train_loss"]


def test_seed_streams_are_independent_and_stable():
    seeds = {stream: seeding.derive_seed(3, stream) for stream in seeding.STREAMS}
    assert len(set(seeds.values())) == len(seeds)
    assert seeding.derive_seed(3, "init") == seeds["init"]
    assert seeding.derive_seed(4, "init") != seeds["init"]
    with pytest.raises(ValueError, match="unknown random stream"):
        seeding.derive_seed(0, "weights")


def test_shuffle_order_matches_a_seeded_dataloader():
    n = 103
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.arange(n)),
        batch_size=10,
        shuffle=True,
        generator=seeding.generator(7, "shuffle"),
    )
    ours = seeding.generator(7, "shuffle")
    for _ in range(3):  # three epochs
        expected = torch.cat([batch for (batch,) in loader])
        assert torch.equal(train.epoch_order(n, ours), expected)


def test_run_id_is_a_stable_hash_of_everything_that_changes_numbers():
    base = quick_config()
    assert base.run_id == quick_config().run_id
    assert RunConfig.from_json(base.to_json()) == base
    assert RunConfig.from_json(base.to_json()).run_id == base.run_id
    assert quick_config(lr=3e-3).run_id != base.run_id
    assert quick_config(seed=1).run_id != base.run_id
    assert quick_config(device="cuda").run_id != base.run_id
    assert quick_config(val_size=0).run_id != base.run_id
    assert quick_config(deterministic=False).run_id != base.run_id


def record(epoch, val_acc, test_acc, val_loss=0.1, cum=1.0):
    return train.EpochRecord(
        epoch, 0.1, 0.9, val_loss, val_acc, 0.1, test_acc, 1e-3, 1.0, 0.1, cum * epoch, 1.0
    )


def test_best_epoch_is_chosen_on_validation_never_test():
    history = [record(1, 0.90, 0.99), record(2, 0.95, 0.91), record(3, 0.95, 0.93, val_loss=0.2)]
    best = train.best_epoch(history)
    assert best.epoch == 2  # best val acc; the tie at epoch 3 loses on val loss
    no_val = [record(1, None, 0.99)]
    assert train.best_epoch(no_val) is None


def test_time_to_target():
    history = [record(1, 0.97, 0), record(2, 0.985, 0), record(3, 0.991, 0)]
    tta = train.time_to_targets(history, [0.98, 0.99, 0.999])
    assert tta["0.98"] == {"epochs": 2, "seconds": 2.0}
    assert tta["0.99"] == {"epochs": 3, "seconds": 3.0}
    assert tta["0.999"] == {"epochs": None, "seconds": None}


def test_a_run_records_everything():
    result = runner.execute(quick_config("tinycnn"))
    assert result.status == "ok", result.message
    assert len(result.history) == 2
    m = result.metrics
    for key in (
        "train_loss",
        "val_acc",
        "test_acc",
        "time_data_s",
        "time_train_s",
        "time_eval_s",
        "images_per_s",
        "peak_mem_bytes",
        "best_epoch",
        "time_to_target",
    ):
        assert m[key] is not None, key
    assert m["n_train"] + m["n_val"] == 1200 and m["n_test"] == 300
    assert m["peak_mem_bytes"] > 0
    assert result.facts.total_params == 4266 and result.facts.mult_adds > 0
    env = result.environment
    assert env["torch_version"] == torch.__version__
    assert env["threads"] == torch.get_num_threads()
    assert env["deterministic_algorithms"] is True and env["cudnn_benchmark"] is False
    assert env["hostname"] and env["timestamp"] and env["cpu_model"]
    assert "git_commit" in env


def test_the_checkpoint_reproduces_the_recorded_test_accuracy():
    from bench.data import datasets

    config = quick_config("cnn")
    result = runner.execute(config)
    state = torch.load(io.BytesIO(result.checkpoint))
    assert RunConfig.from_json(state["config"]) == config
    model = architectures.create("cnn")
    model.load_state_dict(state["state_dict"])
    data, _ = runner.prepare_data(config, None, torch.device("cpu"))
    _, acc = train.evaluate(model, data.test_x, data.test_y, 1000)
    assert acc == result.metrics["test_acc"]
    assert datasets.get_dataset_info("synthetic").num_classes == 10


def test_val_size_zero_trains_on_everything_with_no_selection():
    result = runner.execute(quick_config(val_size=0, epochs=1))
    assert result.metrics["n_val"] == 0 and result.metrics["n_train"] == 1200
    assert result.metrics["best_epoch"] is None and result.history[0]["val_acc"] is None


def test_training_learns_the_synthetic_task():
    result = runner.execute(quick_config("tinycnn", epochs=4, lr=3e-3))
    assert result.metrics["test_acc"] > 0.5  # chance is 0.1


def test_huge_learning_rate_is_recorded_as_diverged():
    result = runner.execute(quick_config(lr=1e3))
    assert result.status == "diverged"
    assert "loss" in result.message and "lr=1000" in result.message
    assert result.checkpoint is None


def test_exceptions_become_error_and_oom_results(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("synthetic failure\nsecond line")

    monkeypatch.setattr(train, "fit", broken)
    result = runner.execute(quick_config())
    assert result.status == "error"
    assert result.message == "ValueError: synthetic failure second line"
    assert "Traceback" in result.traceback

    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")

    monkeypatch.setattr(train, "fit", oom)
    assert runner.execute(quick_config()).status == "oom"


def test_a_run_that_ends_without_a_test_accuracy_is_not_ok(monkeypatch):
    fit = train.fit

    def unscored(*args, **kwargs):  # what an empty test set gave: NaN, recorded as ok on main
        outcome = fit(*args, **kwargs)
        outcome.history[-1].test_acc = math.nan
        return outcome

    monkeypatch.setattr(train, "fit", unscored)
    result = runner.execute(quick_config(epochs=1))
    assert result.status == "error" and result.checkpoint is None
    assert result.message.startswith("the run ended without a test accuracy (300 test images)")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_skipped_with_a_reason():
    result = runner.execute(quick_config(device="cuda"))
    assert result.status == "skipped" and "CUDA is not available" in result.message


def test_full_batch_gradient_descent_on_digits():
    config = RunConfig(
        arch="digits_slp",
        dataset="digits",
        recipe=get_recipe("fullbatch-gd-lr0.1-e1000").with_overrides(epochs=30),
        seed=0,
    )
    result = runner.execute(config)
    assert result.status == "ok"
    assert result.metrics["images_per_s"] > 0 and len(result.history) == 30
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.metrics["test_acc"] > 0.85


def test_augmentations_are_seeded_and_keep_blank_borders():
    x = torch.rand(8, 1, 28, 28)
    gen_a, gen_b = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a = augment.random_affine(x, gen_a, 15, 0.1)
    assert torch.equal(a, augment.random_affine(x, gen_b, 15, 0.1))
    assert not torch.allclose(a, x)
    identity = augment.random_affine(x, torch.Generator(), 0, 0)
    assert torch.allclose(identity, x, atol=1e-5)
    still = augment.elastic(x, torch.Generator(), alpha=0.0, sigma=4.0)
    assert torch.allclose(still, x, atol=1e-5)
    blank = torch.full((2, 1, 28, 28), -0.4242)
    moved = augment.random_affine(blank, torch.Generator(), 30, 0.3, fill=-0.4242)
    assert torch.allclose(moved, blank, atol=1e-5)


def test_augmented_recipe_runs_and_changes_numbers():
    plain = runner.execute(quick_config(epochs=1))
    augmented = runner.execute(quick_config(epochs=1, augment="affine+elastic"))
    assert augmented.status == "ok"
    assert augmented.history[0]["train_loss"] != plain.history[0]["train_loss"]
    assert math.isfinite(augmented.history[0]["test_loss"])
