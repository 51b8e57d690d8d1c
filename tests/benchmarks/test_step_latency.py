"""Train-step and inference-batch latency of every registered architecture on every available
device (pytest-benchmark). The normal test run executes each once (``--benchmark-disable``);
``nox -s benchmark`` times them and saves JSON under results/benchmarks/."""

from __future__ import annotations

import pytest
import torch

import architectures
from bench.config import get_recipe
from bench.modelinfo import model_facts
from bench.train import make_optimizer, train_step

BATCH = 64
EVAL_BATCH = 1000
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def batch(arch: str, size: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    info = architectures.get_info(arch)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(size, *info.input_shape, generator=gen).to(device)
    y = torch.randint(0, info.num_classes, (size,), generator=gen).to(device)
    return x, y


def describe(benchmark, arch: str, device: str, mode: str, batch_size: int) -> None:
    facts = model_facts(arch)
    benchmark.group = mode
    benchmark.extra_info.update(
        arch=arch, mode=mode, device=device, batch_size=batch_size,
        params=facts.total_params, mult_adds=facts.mult_adds,
    )  # fmt: skip


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("arch", architectures.list_archs())
def test_train_step(benchmark, arch, device):
    torch.manual_seed(0)
    model = architectures.create(arch).to(device)
    optimizer = make_optimizer(get_recipe("adam-bs64-e5"), model.parameters(), foreach=True)
    x, y = batch(arch, BATCH, device)
    describe(benchmark, arch, device, "train-step", BATCH)

    def step():
        loss, _ = train_step(model, optimizer, x, y)
        synchronize(device)
        return loss

    loss = benchmark.pedantic(step, rounds=20, warmup_rounds=3, iterations=1)
    assert torch.isfinite(loss)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("arch", architectures.list_archs())
def test_inference_batch(benchmark, arch, device):
    torch.manual_seed(0)
    model = architectures.create(arch).to(device).eval()
    x, _ = batch(arch, EVAL_BATCH, device)
    describe(benchmark, arch, device, "inference-batch", EVAL_BATCH)

    @torch.no_grad()
    def infer():
        logits = model(x)
        synchronize(device)
        return logits

    logits = benchmark.pedantic(infer, rounds=10, warmup_rounds=2, iterations=1)
    assert logits.shape == (EVAL_BATCH, architectures.get_info(arch).num_classes)
