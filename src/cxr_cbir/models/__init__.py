"""Retrieval networks: DenseNet-121 classifier (CNN / IG), multi-level dual attention (ATT)."""

from .attention import DualAttentionDenseNet
from .densenet import DenseNetClassifier

MODEL_KINDS = {"cnn": DenseNetClassifier, "ig": DenseNetClassifier, "att": DualAttentionDenseNet}


def build_model(kind: str):
    if kind not in MODEL_KINDS:
        from ..errors import InputError

        raise InputError(f"unknown model name {kind!r}; known: {sorted(MODEL_KINDS)}")
    return MODEL_KINDS[kind]()
