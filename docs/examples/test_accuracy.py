"""Accuracy as a test: archbench's pytest plugin asserts verdicts over seeds, not thresholds.

Run it where archbench is installed (the plugin loads itself; from a checkout that is not
installed, add ``-p bench.pytest_plugin``)::

    pytest docs/examples/test_accuracy.py --archbench-results .archbench

The first session trains the seeds each check needs (here 3 per model: 12 short runs);
the second finds them in ``.archbench`` and trains nothing. The check on ``IgnoresInput``
fails on purpose, as a regression would, and is marked ``xfail``: ``--runxfail`` shows its
failure message. The project's tests run this file (tests/test_pytest_plugin.py).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import architectures

# A small slice of MNIST: the first 2,000 training images (no validation split), all 10,000
# test images, 3 epochs (after 1, mlp32 has not caught up with slp yet), one thread, and at
# most 8 seeds per model (looks at 3, 5 and 8 seeds).
SLICE = dict(
    dataset="mnist", limit_train=2000, val_size=0, epochs=3, threads=1, device="cpu", max_seeds=8
)


class IgnoresInput(nn.Module):
    """mlp32 behind a bug that zeroes its input: it can only learn the class frequencies."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.net = architectures.create("mlp32", num_classes=num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch.zeros_like(x))


def test_the_thread_count_does_not_change_accuracy(archbench):
    """The same model with 2 threads instead of 1: equivalent within ±0.2 pp."""
    archbench.assert_equivalent(archbench.arch("mlp32", threads=2), "mlp32", margin_pp=0.2, **SLICE)


def test_mlp32_is_not_worse_than_slp(archbench):
    """A hidden layer does not cost accuracy: mlp32 - slp > -0.5 pp is shown."""
    archbench.assert_not_worse("mlp32", "slp", margin_pp=0.5, **SLICE)


@pytest.mark.xfail(raises=AssertionError, strict=True, reason="a regression the check catches")
def test_a_model_that_ignores_its_input_is_not_worse_than_mlp32(archbench):
    """Fails, as it must: the message gives the verdict, the difference with its CI and the
    seeds (run with --runxfail to see it)."""
    archbench.assert_not_worse(IgnoresInput, "mlp32", margin_pp=0.5, **SLICE)


def test_speed_and_accuracy_in_one_test(archbench, benchmark):
    """pytest-benchmark times a forward pass; archbench checks accuracy beside it (the runs
    of the two models above are reused, not trained again)."""
    model = architectures.create("mlp32").eval()
    batch = torch.rand(64, 1, 28, 28)
    with torch.no_grad():
        benchmark(model, batch)
    archbench.assert_better("mlp32", IgnoresInput, **SLICE)
