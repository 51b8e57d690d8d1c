"""Fully-connected networks: Flatten, then Linear layers with ReLU between, no output activation."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import nn

from architectures.registry import MAX_PARAMETERS, ArgumentError, register, size_error

RECAP = "MLP vs CNN recap on MNIST (four models, Adam, batch 64, 5 epochs)"


def build_mlp(in_features: int, hidden: Sequence[int], num_classes: int) -> nn.Sequential:
    """Flatten, Linear(in, h1), ReLU, ..., Linear(h_last, num_classes)."""
    widths = [in_features, *hidden]
    layers: list[nn.Module] = [nn.Flatten()]
    for fan_in, fan_out in itertools.pairwise(widths):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], num_classes))
    return nn.Sequential(*layers)


@register(
    family="mlp",
    description="Configurable MLP: hidden=[...] sizes, ReLU between (default [512, 512])",
    source="archbench (the family behind every MLP here)",
    hidden=(512, 512),
)
def mlp(hidden: Sequence[int] = (512, 512), num_classes: int = 10) -> nn.Module:
    hidden = list(hidden)
    if not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in hidden):
        raise ArgumentError(
            f"mlp hidden sizes must be positive integers, got {hidden}; e.g. hidden=[64,32]"
        )
    widths = [28 * 28, *hidden, num_classes]
    params = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(widths))
    if params > MAX_PARAMETERS:  # before anything is allocated
        raise size_error("mlp", params, {"hidden": hidden})
    return build_mlp(28 * 28, hidden, num_classes)


@register(family="mlp", description="MLP 784-32-10, the recap's baseline", source=RECAP)
def mlp32(num_classes: int = 10) -> nn.Module:
    return build_mlp(28 * 28, [32], num_classes)


@register(
    family="mlp",
    description="MLP 784-256-10",
    source="MLP-256 baseline on MNIST (Adam, batch 128, 10 epochs)",
)
def mlp256(num_classes: int = 10) -> nn.Module:
    return build_mlp(28 * 28, [256], num_classes)


@register(
    family="mlp",
    description="MLP 784-256-128-10",
    source="MNIST notebook: MLP vs CNN with normalized inputs",
)
def mlp256_128(num_classes: int = 10) -> nn.Module:
    return build_mlp(28 * 28, [256, 128], num_classes)


@register(
    family="mlp",
    description="MLP 784-512-512-10 (mlp with hidden=[512, 512])",
    source="Fully-connected network study: SGD learning rate x batch size",
)
def mlp512x2(num_classes: int = 10) -> nn.Module:
    return build_mlp(28 * 28, [512, 512], num_classes)


@register(
    family="mlp",
    description="MLP 64-32-10 for the 8x8 digits",
    source="8x8 digits from scratch (full-batch gradient descent)",
    input_shape=(1, 8, 8),
)
def digits_mlp(num_classes: int = 10) -> nn.Module:
    return build_mlp(8 * 8, [32], num_classes)
