"""Rotation of the test set and the evaluation of checkpoints on it."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bench.data import augment
from bench.report.evaluation import evaluate_rotated
from bench.report.rotations import rotation_name
from bench.train.loop import DeviceData


def bars(n: int, vertical: bool) -> torch.Tensor:
    """Centred bars 3 pixels thick: horizontal (class 0) or vertical (class 1)."""
    x = torch.zeros(n, 1, 28, 28)
    if vertical:
        x[:, :, 4:24, 13:16] = 1.0
    else:
        x[:, :, 13:16, 4:24] = 1.0
    return x


class BarOrientation(nn.Module):
    """Class 0 when the image's mass is spread along a row, 1 along a column."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.sum(dim=(1, 3)).var(dim=1)
        cols = x.sum(dim=(1, 2)).var(dim=1)
        return torch.stack([rows, cols], dim=1)


def test_zero_degrees_is_the_identity():
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(augment.rotate(x, 0.0), x)


def test_ninety_degrees_is_a_counter_clockwise_quarter_turn():
    x = torch.rand(2, 1, 28, 28)
    assert torch.allclose(augment.rotate(x, 90.0), torch.rot90(x, 1, dims=(-2, -1)), atol=1e-5)
    dot = torch.zeros(1, 1, 5, 5)
    dot[0, 0, 2, 4] = 1.0  # right of the centre goes to the top
    assert augment.rotate(dot, 90.0)[0, 0, 0, 2] > 0.99


def test_plus_then_minus_fifteen_degrees_recovers_the_image():
    x = bars(1, vertical=True)
    turned = augment.rotate(x, 15.0)
    back = augment.rotate(turned, -15.0)
    assert (turned - x).abs().mean() > 0.05  # the rotation did move the bar
    assert (back - x).abs().mean() < 0.3 * (turned - x).abs().mean()  # bilinear blurs a bit
    assert torch.allclose(back.sum(), x.sum(), rtol=0.05)


def test_corners_take_the_blank_value():
    fill = torch.tensor(-0.4242)  # a normalized blank pixel
    blank = torch.full((2, 1, 28, 28), float(fill))
    assert torch.allclose(augment.rotate(blank, 15.0, fill), blank, atol=1e-6)
    ones = torch.ones(1, 1, 28, 28)
    corner = augment.rotate(ones, 15.0, 0.0)[0, 0, 0, 0]
    assert corner < 0.05  # outside the rotated image: the blank value, not a copy of the edge


def test_rotated_accuracy_is_computed_on_rotated_images():
    x = torch.cat([bars(5, vertical=False), bars(5, vertical=True)])
    y = torch.tensor([0] * 5 + [1] * 5)
    data = DeviceData(x[:0], y[:0], x[:0], y[:0], test_x=x, test_y=y, fill=0.0)
    plain, turned, small = evaluate_rotated(BarOrientation(), data, 2, angles=(0.0, 90.0, 15.0))
    assert plain.name == "test" and turned.name == rotation_name(90.0) == "test_rot+90"
    assert plain.acc == 1.0 and np.array_equal(plain.confusion, [[5, 0], [0, 5]])
    # a quarter turn swaps the orientations: every prediction flips
    assert turned.acc == 0.0 and np.array_equal(turned.confusion, [[0, 5], [5, 0]])
    assert turned.predictions.tolist() == [1] * 5 + [0] * 5
    assert small.acc == 1.0 and small.n == 10  # 15 degrees keeps the orientation
