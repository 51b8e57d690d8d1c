"""LeNet-5 (LeCun et al., 1998), adapted to 28x28 inputs by padding the first convolution."""

from __future__ import annotations

from torch import nn

from architectures.registry import register


@register(
    family="lenet",
    description="LeNet-5: conv 6@5x5 (pad 2), avgpool, conv 16@5x5, avgpool, 120-84-10, tanh",
    source="LeCun et al. 1998, Gradient-based learning applied to document recognition",
)
def lenet5(num_classes: int = 10) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),  # C1: 6x28x28
        nn.Tanh(),
        nn.AvgPool2d(2),  # S2: 6x14x14
        nn.Conv2d(6, 16, 5),  # C3: 16x10x10
        nn.Tanh(),
        nn.AvgPool2d(2),  # S4: 16x5x5
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),  # C5 (a 5x5 convolution over a 5x5 map)
        nn.Tanh(),
        nn.Linear(120, 84),  # F6
        nn.Tanh(),
        nn.Linear(84, num_classes),
    )
