"""DenseNet-121 binary classifier with a 1024-d penultimate embedding.

torchvision's DenseNet-121 ends with functional ReLU and pooling; here they are modules
(``relu``, ``pool``) so that LRP rules attach to them and relevance is conserved. ReLUs
are not in-place (DeepLift and LRP hooks need the activations). Random init only: no
weights are ever downloaded; a local weights file can be loaded by the trainer.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import densenet121


def _no_inplace(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False


class DenseNetClassifier(nn.Module):
    """DenseNet-121 features -> ReLU -> global average pool -> one logit."""

    embedding_dim = 1024

    def __init__(self) -> None:
        super().__init__()
        self.features = densenet121(weights=None).features
        _no_inplace(self.features)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(1024, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The 1024-d penultimate features used for retrieval."""
        return torch.flatten(self.pool(self.relu(self.features(x))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))
