"""Retrieval networks: DenseNet-121 classifier (CNN / IG), multi-level dual attention (ATT)."""

from cxr_cbir.models.attention import DualAttentionDenseNet
from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.torch_utils import load_checkpoint

MODEL_KINDS = {"cnn": DenseNetClassifier, "ig": DenseNetClassifier, "att": DualAttentionDenseNet}


def build_model(kind: str):
    if kind not in MODEL_KINDS:
        from cxr_cbir.errors import InputError

        raise InputError(f"unknown model name {kind!r}; known: {sorted(MODEL_KINDS)}")
    return MODEL_KINDS[kind]()


def load_model(kind: str, path, device):
    """The ``kind`` network with the weights-only checkpoint at ``path``, on ``device``, in
    eval mode: how saliency, embedding and query jobs get a trained model."""
    model = build_model(kind)
    model.load_state_dict(load_checkpoint(path, map_location=device))
    return model.to(device).eval()
