"""Deeper VGG-style CNNs: pairs of 3x3 convolutions per stage, with dropout."""

from __future__ import annotations

from torch import nn

from architectures.mlp import RECAP
from architectures.registry import register


def double_conv_stage(in_channels: int, out_channels: int, dropout: float) -> list[nn.Module]:
    """Conv, ReLU, Conv, ReLU (3x3, pad 1), MaxPool(2), Dropout."""
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(dropout),
    ]


@register(
    family="deepcnn",
    description="Two double-conv stages (32, 64 channels) with dropout, hidden linear 128",
    source=RECAP,
)
def strongcnn(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        *double_conv_stage(1, 32, 0.25),
        *double_conv_stage(32, 64, 0.25),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, num_classes),
    )
