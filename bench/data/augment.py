"""Data augmentation applied to whole batches on the training device.

Both transforms resample the batch with ``grid_sample``; pixels that come from outside the
image take the background value ``fill`` (0 for unit-scaled pixels, the normalized value of
a blank pixel otherwise, per pixel position for z-scored inputs). Their random draws come
from the run's ``augment`` generator only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from bench.config import Recipe

Fill = float | torch.Tensor  # a blank pixel's value: a number, or one value per pixel position


def _identity_grid(x: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(2, 3, device=x.device, dtype=x.dtype).expand(x.shape[0], 2, 3)
    return F.affine_grid(eye, list(x.shape), align_corners=False)


def _resample(x: torch.Tensor, grid: torch.Tensor, fill: Fill) -> torch.Tensor:
    out = F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out + fill


def random_affine(
    x: torch.Tensor, gen: torch.Generator, rotate_deg: float, translate: float, fill: Fill = 0.0
) -> torch.Tensor:
    """Rotate each image by U(-rotate_deg, rotate_deg) degrees and shift it by
    U(-translate, translate) of its size along each axis."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen, device=x.device) * 2 - 1) * math.radians(rotate_deg)
    # affine_grid works in [-1, 1] coordinates: a shift of a fraction f of the image is 2f.
    shift = (torch.rand(n, 2, generator=gen, device=x.device) * 2 - 1) * (2 * translate)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    ).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return _resample(x, grid, fill)


def rotate(x: torch.Tensor, degrees: float, fill: Fill = 0.0) -> torch.Tensor:
    """Every image of ``x`` rotated by ``degrees`` about its centre, counter-clockwise as
    displayed (row 0 at the top), bilinear; pixels from outside take ``fill``. Deterministic:
    the same angle for the whole batch (0 returns ``x`` unchanged)."""
    if degrees == 0:
        return x
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    # the grid maps each output pixel to where it samples the input; (x, y) with y downwards
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
    return _resample(x, grid, fill)


def _gaussian_kernel(sigma: float, device, dtype) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def elastic(
    x: torch.Tensor, gen: torch.Generator, alpha: float, sigma: float, fill: Fill = 0.0
) -> torch.Tensor:
    """Elastic distortion (Simard et al., 2003): a uniform random displacement field per image,
    smoothed by a Gaussian of ``sigma`` pixels and scaled by ``alpha`` pixels."""
    n, _, h, w = x.shape
    field = torch.rand(n * 2, 1, h, w, generator=gen, device=x.device, dtype=x.dtype) * 2 - 1
    kernel = _gaussian_kernel(sigma, x.device, x.dtype)
    pad = len(kernel) // 2
    field = F.conv2d(F.pad(field, (pad, pad, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
    field = F.conv2d(F.pad(field, (0, 0, pad, pad), mode="reflect"), kernel.view(1, 1, -1, 1))
    field = field.view(n, 2, h, w) * alpha
    # pixels -> [-1, 1] grid units; grid's last dim is (x, y)
    scale = torch.tensor([2.0 / w, 2.0 / h], device=x.device, dtype=x.dtype)
    grid = _identity_grid(x) + field.permute(0, 2, 3, 1) * scale
    return _resample(x, grid, fill)


def augmenter(recipe: Recipe, gen: torch.Generator, fill: Fill):
    """The recipe's batch transform (None when the recipe does not augment)."""
    if recipe.augment == "none":
        return None
    steps = recipe.augment.split("+")

    def transform(x: torch.Tensor) -> torch.Tensor:
        for step in steps:
            if step == "affine":
                x = random_affine(x, gen, recipe.rotate_deg, recipe.translate, fill)
            elif step == "elastic":
                x = elastic(x, gen, recipe.elastic_alpha, recipe.elastic_sigma, fill)
        return x

    return transform
