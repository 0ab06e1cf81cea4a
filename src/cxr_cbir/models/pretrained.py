"""Weights a user brings: torchvision's ImageNet and torchxrayvision's chest X-ray weights.

Both papers start from pretrained weights (Silva et al.: a CheXpert CNN; Zhong et al.:
ImageNet). A config ``init`` value names them:

- ``torchvision:imagenet``: torchvision's ImageNet weights of the model's architecture
  (DenseNet-121 for cnn/ig/att/sev, ResNet-50 for the metric models), in torch.hub's
  cache folder (``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub``).
- ``torchxrayvision:<weights>``: a torchxrayvision DenseNet-121 (e.g.
  ``densenet121-res224-all``, trained on eight public CXR sets), in torchxrayvision's
  cache folder (``~/.torchxrayvision/models_data``).

Each file is found where the library's own loader keeps it and fetched by that loader
when missing (a user with network gets it the usual way). Offline, a missing file is an
``InputError`` naming the file, where to put it and where to get it. Every file is read
with ``torch.load(weights_only=True)``: torchxrayvision stores whole pickled modules,
so only the classes its file names from ``torch.nn`` and ``torchxrayvision`` are allowed,
and anything else is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from cxr_cbir.errors import InputError

# torchvision's ImageNet weights (IMAGENET1K_V1) by architecture
TORCHVISION = {
    "densenet121": "https://download.pytorch.org/models/densenet121-a639ec97.pth",
    "resnet50": "https://download.pytorch.org/models/resnet50-0676ba61.pth",
}
# torchvision's DenseNet checkpoints use the old 'norm.1' layer names (as its loader says)
_OLD_DENSE_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)
# torchxrayvision's input range [-1024, 1024] over [0, 1] grey; ours is (x - 0.5) / 0.25
# (models.inputs.prepare), i.e. xrv = 512 * ours, on one channel where ours has three
XRV_INPUT_SCALE = 512.0
IMAGENET_STD_OVER_OURS = torch.tensor([0.25 / 0.229, 0.25 / 0.224, 0.25 / 0.225])
_ALLOWED_PICKLE_MODULES = ("torch.", "torchxrayvision.", "collections.")


def _xrv():
    try:
        import torchxrayvision as xrv
    except ImportError:
        raise InputError(
            "init 'torchxrayvision:...': the torchxrayvision package is not installed "
            "(pip install torchxrayvision)"
        ) from None
    return xrv


def source_url(spec: str, architecture: str) -> str:
    """Where the library downloads the weights ``spec`` names for ``architecture`` from."""
    lib, _, name = spec.partition(":")
    if lib == "torchvision":
        if name != "imagenet":
            raise InputError(f"init {spec!r}: torchvision weights are 'torchvision:imagenet'")
        if architecture not in TORCHVISION:
            raise InputError(f"init {spec!r}: no torchvision weights for {architecture}")
        return TORCHVISION[architecture]
    if lib == "torchxrayvision":
        if architecture != "densenet121":
            raise InputError(f"init {spec!r}: torchxrayvision weights are DenseNet-121 only")
        urls = _xrv().models.model_urls
        if name not in urls:
            raise InputError(f"init {spec!r}: unknown weights; torchxrayvision has {sorted(urls)}")
        return urls[name]["weights_url"]
    raise InputError(f"init {spec!r}: not 'torchvision:imagenet' or 'torchxrayvision:<weights>'")


def cache_file(spec: str, architecture: str) -> Path:
    """The file the library's own loader keeps those weights in (whether or not it exists)."""
    url = source_url(spec, architecture)
    if spec.startswith("torchvision:"):
        folder = Path(torch.hub.get_dir()) / "checkpoints"
    else:
        folder = Path(os.path.expanduser(_xrv().utils.get_cache_dir()))
    return folder / os.path.basename(url)


def fetch(spec: str, architecture: str) -> Path:
    """The weights file, downloaded by the library's loader when it is missing."""
    path = cache_file(spec, architecture)
    if path.is_file():
        return path
    url = source_url(spec, architecture)
    try:
        if spec.startswith("torchvision:"):
            torch.hub.load_state_dict_from_url(url, progress=False, weights_only=True)
        else:
            _xrv().models.get_weights(spec.partition(":")[2])
    except InputError:
        raise
    except Exception as exc:  # no network: URLError, ConnectionError, ...
        raise InputError(
            f"init {spec!r}: {path} is missing and could not be downloaded "
            f"({type(exc).__name__}: {exc}); offline, download {url} on a machine with "
            f"network and place it at {path}"
        ) from None
    if not path.is_file():
        raise InputError(f"init {spec!r}: the download did not leave {path}")
    return path


def _weights_only_load(path: Path):
    """torch.load(weights_only=True), allowing only torch / torchxrayvision classes."""
    from torch.serialization import get_unsafe_globals_in_checkpoint, safe_globals

    names = get_unsafe_globals_in_checkpoint(str(path))
    refused = [n for n in names if not n.startswith(_ALLOWED_PICKLE_MODULES)]
    if refused:
        raise InputError(f"{path}: refusing to unpickle {refused[:5]}")
    classes = []
    for name in names:
        module, _, attr = name.rpartition(".")
        obj = __import__(module, fromlist=[attr])
        classes.append(getattr(obj, attr))
    try:
        with safe_globals(classes):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"{path}: not a loadable weights file: {exc}") from None


def library_state(spec: str, architecture: str, path: Path | None = None) -> dict:
    """The weights as a state dict in the names of torchvision's ``architecture``
    (``features.*`` for DenseNet-121, ``conv1`` ... ``layer4`` for ResNet-50), with the
    first convolution expecting this project's three-channel normalised grey input."""
    path = Path(path) if path else fetch(spec, architecture)
    obj = _weights_only_load(path)
    state = obj.state_dict() if isinstance(obj, torch.nn.Module) else dict(obj)
    if spec.startswith("torchvision:"):
        fixed = {}
        for key, value in state.items():
            m = _OLD_DENSE_KEY.match(key)
            key = m.group(1) + m.group(2) if m else key
            if architecture == "resnet50":  # this project's trunk keeps the stem together
                key = re.sub(r"^conv1\.", "stem.0.", re.sub(r"^bn1\.", "stem.1.", key))
            fixed[key] = value
        first = "features.conv0.weight" if architecture == "densenet121" else "stem.0.weight"
        # ImageNet's per-channel (x - mean) / std against our (x - 0.5) / 0.25: the scale
        fixed[first] = fixed[first] * (IMAGENET_STD_OVER_OURS[:, None, None])
        return fixed
    conv = state["features.conv0.weight"]  # (64, 1, 7, 7): one channel in xrv's range
    state["features.conv0.weight"] = (conv * XRV_INPUT_SCALE / 3).expand(-1, 3, -1, -1).clone()
    return state


def _att_names(state: dict) -> dict:
    """DenseNet-121 ``features.*`` weights in the dual-attention model's stage names."""
    from cxr_cbir.models.attention import DualAttentionDenseNet

    own = DualAttentionDenseNet().state_dict()
    children = _densenet_children()
    cut2, cut3 = children.index("denseblock2") + 1, children.index("denseblock3") + 1
    out = {}
    for key, value in state.items():
        if not key.startswith("features."):
            continue
        child, _, rest = key[len("features.") :].partition(".")
        i = children.index(child)
        stage, j = (2, i) if i < cut2 else ((3, i - cut2) if i < cut3 else (4, i - cut3))
        name = f"stage{stage}.{j}.{rest}"
        if name in own:
            out[name] = value
    return out


def _densenet_children() -> list[str]:
    """The child names of DenseNet-121's ``features`` (conv0 ... norm5), in order."""
    from torchvision.models import densenet121

    return [n for n, _ in densenet121(weights=None).features.named_children()]


FAMILIES = {"densenet": "densenet121", "att": "densenet121", "resnet": "resnet50"}


def family_state(spec: str, family: str, path: Path | None = None) -> dict:
    """Library weights in the names of one of this project's model families: ``densenet``
    (cnn, ig, sev, pretrain: ``features.*``), ``att`` (the dual-attention model's stages)
    or ``resnet`` (the metric models' ``trunk.*``), ready for a plain weights-only load."""
    if family not in FAMILIES:
        raise InputError(f"library weights: unknown model family {family!r}; {sorted(FAMILIES)}")
    state = library_state(spec, FAMILIES[family], path)
    if family == "att":
        return _att_names(state)
    if family == "resnet":
        return {f"trunk.{k}": v for k, v in state.items() if not k.startswith("fc.")}
    return {k: v for k, v in state.items() if k.startswith("features.")}
