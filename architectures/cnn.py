"""Small convolutional networks: 3x3 same-padding convolutions, ReLU, 2x2 max-pooling."""

from __future__ import annotations

from torch import nn

from architectures.mlp import RECAP
from architectures.registry import register


def conv_block(in_channels: int, out_channels: int) -> list[nn.Module]:
    """Conv(3x3, pad 1), ReLU, MaxPool(2): halves the spatial size."""
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]


@register(
    family="cnn", description="Two conv blocks (4, 8 channels) and one linear layer", source=RECAP
)
def tinycnn(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        *conv_block(1, 4), *conv_block(4, 8), nn.Flatten(), nn.Linear(8 * 7 * 7, num_classes)
    )


@register(
    family="cnn", description="Two conv blocks (8, 16 channels), hidden linear 32", source=RECAP
)
def cnn(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        *conv_block(1, 8),
        *conv_block(8, 16),
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 32),
        nn.ReLU(),
        nn.Linear(32, num_classes),
    )


@register(
    family="cnn",
    description="Two conv blocks (32, 64 channels), hidden linear 128",
    source="MNIST notebook: MLP vs CNN with normalized inputs",
)
def mnistcnn(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        *conv_block(1, 32),
        *conv_block(32, 64),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )
