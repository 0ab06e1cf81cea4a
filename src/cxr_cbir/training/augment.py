"""Batched small random rotations and translations (the paper's augmentation), on tensors."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(
    x: torch.Tensor, degrees: float, translate: float, generator=None
) -> torch.Tensor:
    """Rotate each image by U(-degrees, degrees) and shift by up to ``translate`` of its size."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(degrees)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * translate * 2
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    ).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


# Silva et al.'s augmentation, the one every DenseNet task trains with (classifiers,
# the severity model, the pretraining): rotations up to 5 degrees, shifts up to 5 %
PAPER_DEGREES, PAPER_TRANSLATE = 5.0, 0.05


def paper_affine(x: torch.Tensor, generator=None) -> torch.Tensor:
    """``random_affine`` with the paper's range (``PAPER_DEGREES``, ``PAPER_TRANSLATE``)."""
    return random_affine(x, PAPER_DEGREES, PAPER_TRANSLATE, generator)


def random_crop(x: torch.Tensor, min_scale: float, generator=None) -> torch.Tensor:
    """Random square crop of side U(min_scale, 1) of the image, resized back (per image)."""
    n = x.shape[0]
    scale = min_scale + (1 - min_scale) * torch.rand(n, generator=generator)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (1 - scale)[:, None]
    zero = torch.zeros(n)
    theta = torch.stack(
        [torch.stack([scale, zero, shift[:, 0]], 1), torch.stack([zero, scale, shift[:, 1]], 1)], 1
    ).to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)
