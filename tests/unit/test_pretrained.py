"""Weights a user brings, offline: files the tests write into torchvision's and
torchxrayvision's own cache folders are found and loaded weights-only; a missing file is a
clear error naming where to put it; a pickle with foreign code is refused."""

import os

import pytest
import torch
import torchxrayvision as xrv
from support.weights import torchvision_densenet_file
from torchvision.models import resnet50

from cxr_cbir.errors import InputError
from cxr_cbir.models import pretrained
from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.models.embedding import MetricEmbeddingNet, init_trunk_from
from cxr_cbir.torch_utils import load_state_dict_file, save_checkpoint


def _start(model, spec, family, folder):
    """As the workflow does: rule library_weights writes the family's file, the training
    job loads it (metric trunks strictly); returns the number of tensors it carries."""
    state = pretrained.family_state(spec, family)
    path = folder / f"{family}.pt"
    save_checkpoint(state, path)
    if family == "resnet":
        return init_trunk_from(model, path)
    load_state_dict_file(model, path)
    return len(state)


def test_torchvision_densenet_weights_from_torch_hub_cache(caches):
    old, path = torchvision_densenet_file()
    assert path == caches / "torch/hub/checkpoints/densenet121-a639ec97.pth"
    model = DenseNetClassifier()
    n = _start(model, "torchvision:imagenet", "densenet", caches)
    assert n == len([k for k in old if not k.startswith("classifier")])
    mine = model.state_dict()
    key = "features.denseblock2.denselayer3.norm1.weight"
    assert torch.equal(mine[key], old["features.denseblock2.denselayer3.norm.1.weight"])
    # the first convolution is rescaled from ImageNet's per-channel std to our 0.25
    conv = old["features.conv0.weight"]
    assert torch.allclose(mine["features.conv0.weight"][:, 1], conv[:, 1] * 0.25 / 0.224)


def test_torchvision_resnet50_weights_start_the_metric_trunk(caches):
    torch.manual_seed(2)
    state = {k: v.clone() + 0.25 for k, v in resnet50(weights=None).state_dict().items()}
    path = pretrained.cache_file("torchvision:imagenet", "resnet50")
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    model = MetricEmbeddingNet(embedding_dim=16)
    n = _start(model, "torchvision:imagenet", "resnet", caches)
    mine = model.state_dict()
    assert torch.equal(mine["trunk.layer3.2.conv2.weight"], state["layer3.2.conv2.weight"])
    assert torch.equal(mine["trunk.stem.1.running_var"], state["bn1.running_var"])
    assert n == len(state) - 2  # all but the ImageNet classifier (fc.weight, fc.bias)


def test_torchxrayvision_weights_from_its_cache_folder(caches):
    torch.manual_seed(3)
    net = xrv.models.DenseNet(weights=None)  # xrv's own class, pickled whole as it ships
    with torch.no_grad():
        net.features.conv0.weight.add_(1.0)
    path = pretrained.cache_file("torchxrayvision:densenet121-res224-all", "densenet121")
    assert str(path).startswith(str(caches / "home/.torchxrayvision/models_data"))
    path.parent.mkdir(parents=True)
    torch.save(net, path)
    model = DenseNetClassifier()
    _start(model, "torchxrayvision:densenet121-res224-all", "densenet", caches)
    mine = model.state_dict()
    key = "features.denseblock4.denselayer16.conv2.weight"
    assert torch.equal(mine[key], net.state_dict()[key])
    # one channel in [-1024, 1024] -> three channels of (x - 0.5) / 0.25: same response
    x = torch.rand(2, 1, 32, 32)
    ours = (x - 0.5) / 0.25
    theirs = (2 * x - 1) * 1024
    a = torch.nn.functional.conv2d(ours.expand(-1, 3, -1, -1), mine["features.conv0.weight"])
    b = torch.nn.functional.conv2d(theirs, net.features.conv0.weight)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-2)


def test_missing_weights_offline_name_the_file_and_where_to_get_it(caches):
    with pytest.raises(InputError) as err:
        pretrained.family_state("torchvision:imagenet", "densenet")
    msg = str(err.value)
    assert str(caches / "torch/hub/checkpoints/densenet121-a639ec97.pth") in msg
    assert "https://download.pytorch.org/models/densenet121-a639ec97.pth" in msg
    with pytest.raises(InputError, match=r"models_data/nih-pc-chex-mimic_ch-google"):
        pretrained.fetch("torchxrayvision:densenet121-res224-all", "densenet121")
    with pytest.raises(InputError, match="unknown weights"):
        pretrained.fetch("torchxrayvision:no-such-weights", "densenet121")


class Foreign(torch.nn.Module):
    """A class outside torch and torchxrayvision: its pickle could run anything."""


def test_a_pickle_with_foreign_classes_is_refused(caches):
    path = pretrained.cache_file("torchxrayvision:densenet121-res224-all", "densenet121")
    path.parent.mkdir(parents=True)
    torch.save(Foreign(), path)
    with pytest.raises(InputError, match="refusing to unpickle"):
        pretrained.family_state("torchxrayvision:densenet121-res224-all", "densenet")
    assert os.path.exists(path)  # nothing deleted
