"""Single-layer softmax classifiers: Flatten, Linear(inputs, classes); softmax lives in the loss."""

from __future__ import annotations

from torch import nn

from architectures.registry import register


@register(
    family="linear",
    description="Single linear softmax layer 784-10 (multinomial logistic regression)",
    source="Fully-connected network study: the zero-hidden-layer baseline",
)
def slp(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, num_classes))


@register(
    family="linear",
    description="Single linear softmax layer 64-10 for the 8x8 digits",
    source="8x8 digits from scratch (full-batch gradient descent)",
    input_shape=(1, 8, 8),
)
def digits_slp(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(8 * 8, num_classes))
