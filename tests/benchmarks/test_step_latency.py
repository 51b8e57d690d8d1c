"""Train-step and inference-batch latency of every registered architecture on every available
device (pytest-benchmark), with the settings the fast path picks for it (channels-last,
fused optimizer: :mod:`bench.config.fastpath`). The normal test run executes each once
(``--benchmark-disable``); ``nox -s benchmark`` times them and saves JSON under
results/benchmarks/."""

from __future__ import annotations

import pytest
import torch

import architectures
from bench.config import fastpath, get_recipe
from bench.train import model_facts
from bench.train.loop import train_step
from bench.train.optim import make_optimizer

BATCH = 64
EVAL_BATCH = 1000
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def setup(arch: str, device: str, size: int):
    """The model on ``device`` in the fast path's layout, a batch, and the settings used."""
    torch.manual_seed(0)
    model = architectures.create(arch)
    settings = fastpath.resolve(model, device, seeds=1)
    memory = torch.channels_last if settings["channels_last"] else torch.contiguous_format
    model = model.to(device, memory_format=memory)
    info = architectures.get_info(arch)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(size, *info.input_shape, generator=gen).to(device, memory_format=memory)
    y = torch.randint(0, info.num_classes, (size,), generator=gen).to(device)
    return model, x, y, settings


def describe(benchmark, arch: str, device: str, mode: str, size: int, settings: dict) -> None:
    facts = model_facts(arch)
    benchmark.group = mode
    benchmark.extra_info.update(
        arch=arch,
        mode=mode,
        device=device,
        batch_size=size,
        params=facts.total_params,
        mult_adds=facts.mult_adds,
        **settings,
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("arch", architectures.list_archs())
@pytest.mark.slow
def test_train_step(benchmark, arch, device):
    model, x, y, settings = setup(arch, device, BATCH)
    optimizer = make_optimizer(
        get_recipe("adam-bs64-e5"), model.parameters(), True, settings["fused_optimizer"]
    )
    describe(benchmark, arch, device, "train-step", BATCH, settings)

    def step():
        loss, _ = train_step(model, optimizer, x, y)
        synchronize(device)
        return loss

    loss = benchmark.pedantic(step, rounds=20, warmup_rounds=3, iterations=1)
    assert torch.isfinite(loss)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("arch", architectures.list_archs())
def test_inference_batch(benchmark, arch, device):
    model, x, _, settings = setup(arch, device, EVAL_BATCH)
    model.eval()
    describe(benchmark, arch, device, "inference-batch", EVAL_BATCH, settings)

    @torch.no_grad()
    def infer():
        logits = model(x)
        synchronize(device)
        return logits

    logits = benchmark.pedantic(infer, rounds=10, warmup_rounds=2, iterations=1)
    assert logits.shape == (EVAL_BATCH, architectures.get_info(arch).num_classes)
