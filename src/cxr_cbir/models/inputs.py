"""The one input transform of every retrieval network (DenseNets and ResNets alike).

A batch of (N, H, W) grey films, uint8 or float maps in [0, 1], becomes (N, 3, H, W)
floats standardised with ``MEAN`` and ``STD`` (the grey channel repeated three times,
channels-last). Training, inference, saliency and the query engine all call it, so a
film gives the same numbers wherever it is seen. Weights a user brings are rescaled to
this input at load time (``models.pretrained``). The lung-segmentation members read
one channel instead (``segmentation.inference.to_tensor``).
"""

from __future__ import annotations

import torch

MEAN, STD = 0.5, 0.25


def prepare(batch: torch.Tensor) -> torch.Tensor:
    """(N, H, W) uint8 image or float map in [0, 1] -> (N, 3, H, W) normalised float."""
    x = batch.float()
    if batch.dtype == torch.uint8:
        x = x / 255.0
    x = (x - MEAN) / STD
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous(memory_format=torch.channels_last)
