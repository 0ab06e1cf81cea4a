"""Ensemble members: segmentation-models-pytorch networks from random init or local weights.

``encoder_weights=None`` always: nothing is downloaded. smp's EfficientNet encoders
set BatchNorm momentum to 0.01, which leaves running statistics near their initial
values after a short training from scratch (a model then scores ~0 in eval mode); the
momentum is raised to 0.1 here, and the statistics are re-estimated after training.
"""

from __future__ import annotations

from collections.abc import Mapping

import segmentation_models_pytorch as smp
import torch

from cxr_cbir.errors import InputError
from cxr_cbir.torch_utils import load_state_dict_file

ARCHITECTURES = (
    "Unet",
    "UnetPlusPlus",
    "FPN",
    "DeepLabV3Plus",
    "MAnet",
    "Linknet",
    "PSPNet",
    "PAN",
)


def member_outputs(member: Mapping) -> int:
    """Logits per pixel of a member's spec: one per lung convention in its ``heads``
    (when the ensemble learns both conventions), else one."""
    return max(len(member.get("heads") or []), 1)


def build_member(
    arch: str, encoder: str, weights: str | None = None, classes: int = 1
) -> torch.nn.Module:
    """A one-channel-in segmentation network with ``classes`` logits per pixel (one per
    lung convention when the ensemble learns both, ``conventions.CONVENTIONS``)."""
    if arch not in ARCHITECTURES:
        raise InputError(f"segmentation member: unknown architecture {arch!r}; use {ARCHITECTURES}")
    try:
        model = getattr(smp, arch)(
            encoder_name=encoder, encoder_weights=None, in_channels=1, classes=classes
        )
    except (KeyError, ValueError) as exc:
        raise InputError(
            f"segmentation member {arch}: unknown encoder {encoder!r} ({exc})"
        ) from None
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = 0.1
    if weights:
        load_state_dict_file(model, weights)
    return model
