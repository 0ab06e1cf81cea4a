"""Retrieval networks: DenseNet-121 classifier (CNN / IG), multi-level dual attention (ATT)."""

from ..torch_utils import load_checkpoint
from .attention import DualAttentionDenseNet
from .densenet import DenseNetClassifier

MODEL_KINDS = {"cnn": DenseNetClassifier, "ig": DenseNetClassifier, "att": DualAttentionDenseNet}


def build_model(kind: str):
    if kind not in MODEL_KINDS:
        from ..errors import InputError

        raise InputError(f"unknown model name {kind!r}; known: {sorted(MODEL_KINDS)}")
    return MODEL_KINDS[kind]()


def load_model(kind: str, path, device):
    """The ``kind`` network with the weights-only checkpoint at ``path``, on ``device``, in
    eval mode: how saliency, embedding and query jobs get a trained model."""
    model = build_model(kind)
    model.load_state_dict(load_checkpoint(path, map_location=device))
    return model.to(device).eval()
