"""Weight files as the libraries cache them, planted by tests that must stay offline."""

from __future__ import annotations

import re

import torch
from torchvision.models import densenet121

from cxr_cbir.models import pretrained


def torchvision_densenet_file():
    """A DenseNet-121 state dict as torchvision ships it (old 'norm.1' key names, no
    num_batches_tracked buffers)."""
    torch.manual_seed(1)
    state = densenet121(weights=None).state_dict()
    old = {}
    for k, v in state.items():
        if k.endswith("num_batches_tracked"):
            continue
        k2 = re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k)
        old[k2] = v.clone() + 0.5  # distinct from any random init
    path = pretrained.cache_file("torchvision:imagenet", "densenet121")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(old, path)
    return old, path
