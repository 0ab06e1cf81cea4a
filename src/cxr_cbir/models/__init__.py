"""Every network of the pipeline, by name: ``build(name, settings)``, ``load(name, path, ...)``.

- ``cnn``, ``ig``: DenseNet-121 binary classifier (Silva et al.; IG trains on saliency maps);
- ``att``: DenseNet-121 with multi-level dual attention (Silva et al., after DANet);
- ``dml``: ResNet-50 with a spatial attention branch and a 64-d embedding (Zhong et
  al.; ``settings``: the ``metric_learning`` keys ``embedding_dim``, ``attention``);
- ``ce``: the same ResNet-50 with a cross-entropy head (``settings["classes"]``);
- ``sev``: DenseNet-121 with one output per target, the severity model and the
  pretraining network (``settings["targets"]`` or ``settings["n_outputs"]``).

Each takes films through the one input transform, ``models.inputs.prepare``. Checkpoints
are read weights-only (``torch_utils.load_checkpoint``); an unknown name or a missing
setting is an ``InputError`` naming it.
"""

from __future__ import annotations

from torch import nn

from cxr_cbir.errors import InputError
from cxr_cbir.models.attention import DualAttentionDenseNet
from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.models.embedding import CrossEntropyResNet, MetricEmbeddingNet
from cxr_cbir.models.multi_output import MultiOutputDenseNet
from cxr_cbir.torch_utils import load_checkpoint

NAMES = ("cnn", "ig", "att", "dml", "ce", "sev")


def _setting(name: str, settings: dict, key: str):
    if key not in settings:
        raise InputError(f"model {name!r} needs the setting {key!r}")
    return settings[key]


def build(name: str, settings: dict | None = None) -> nn.Module:
    """The untrained network ``name`` (random init from the global seed)."""
    settings = settings or {}
    if name in ("cnn", "ig"):
        return DenseNetClassifier()
    if name == "att":
        return DualAttentionDenseNet()
    if name == "dml":
        return MetricEmbeddingNet(
            settings.get("embedding_dim") or 64, settings.get("attention", True)
        )
    if name == "ce":
        return CrossEntropyResNet(len(_setting(name, settings, "classes")))
    if name == "sev":
        n = settings.get("n_outputs") or len(_setting(name, settings, "targets"))
        return MultiOutputDenseNet(n_outputs=n)
    raise InputError(f"unknown model name {name!r}; known: {list(NAMES)}")


def load(name: str, path, device, settings: dict | None = None) -> nn.Module:
    """The network ``name`` with the weights-only checkpoint at ``path``, on ``device``, in
    eval mode: how saliency, embedding and query jobs get a trained model."""
    model = build(name, settings)
    model.load_state_dict(load_checkpoint(path, map_location=device))
    return model.to(device).eval()
