"""DenseNet-121 with one linear output per target: the severity model (method sev: one
score per severity target) and the pretraining model (one logit per finding).

The trunk has the classifier's parameter names (``DenseNetClassifier``), so a trained
CNN, the pretrained trunk, or any DenseNet-121 weights file starts it; the head is new.
Kept apart from the classifier registry so that adding it changed none of the classifier
jobs' code.
"""

from __future__ import annotations

from torch import nn

from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.torch_utils import load_checkpoint


class MultiOutputDenseNet(DenseNetClassifier):
    """DenseNet-121 features -> ReLU -> global average pool -> ``n_outputs`` scores."""

    def __init__(self, n_outputs: int = 1) -> None:
        super().__init__()
        self.n_outputs = int(n_outputs)
        self.classifier = nn.Linear(1024, self.n_outputs)


def load_multi_output_model(path, n_outputs: int, device) -> MultiOutputDenseNet:
    """A trained multi-output model at ``path`` (weights only), on ``device``, in eval mode."""
    model = MultiOutputDenseNet(n_outputs)
    model.load_state_dict(load_checkpoint(path, map_location=device))
    return model.to(device).eval()
