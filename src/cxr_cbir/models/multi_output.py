"""DenseNet-121 with one linear output per target: the severity model (method sev: one
score per severity target) and the pretraining model (one logit per finding).

The trunk has the classifier's parameter names (``DenseNetClassifier``), so a trained
CNN, the pretrained trunk, or any DenseNet-121 weights file starts it; the head is new.
"""

from __future__ import annotations

from torch import nn

from cxr_cbir.models.densenet import DenseNetClassifier


class MultiOutputDenseNet(DenseNetClassifier):
    """DenseNet-121 features -> ReLU -> global average pool -> ``n_outputs`` scores."""

    def __init__(self, n_outputs: int = 1) -> None:
        super().__init__()
        self.n_outputs = int(n_outputs)
        self.classifier = nn.Linear(1024, self.n_outputs)
