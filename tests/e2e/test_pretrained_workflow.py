"""Weights a user brings, through the workflow: rule library_weights per model family."""

import re

import torch
import yaml
from support.weights import torchvision_densenet_file
from support.workflow import REPO, run_snakemake

from cxr_cbir.models.attention import DualAttentionDenseNet
from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.torch_utils import load_checkpoint, load_state_dict_file


def test_workflow_writes_library_weights_in_each_family_s_names(caches, tmp_path):
    """rule library_weights: the library's cached file -> the run's init file per model
    family (what `init: torchvision:imagenet` starts cnn / att / sev from)."""
    old, _ = torchvision_densenet_file()
    cfg = yaml.safe_load((REPO / "tests/config/tiny.yaml").read_text())
    cfg["severity_model"]["init"] = "torchvision:imagenet"
    cfg["conditions"]["effusion"]["init"] = {
        "cnn": "torchvision:imagenet",
        "att": "torchvision:imagenet",
    }
    work = tmp_path / "work"
    work.mkdir()
    (work / "c.yaml").write_text(yaml.safe_dump(cfg))
    plan = run_snakemake(work, work / "c.yaml", "-n").stdout
    assert re.search(r"library_weights\s+2\b", plan)  # densenet and att, once each
    target = "results/tiny/models/library/torchvision/imagenet"
    run_snakemake(work, work / "c.yaml", f"{target}/densenet.pt", f"{target}/att.pt")
    dense = load_checkpoint(work / target / "densenet.pt")
    assert all(k.startswith("features.") for k in dense)
    model = DenseNetClassifier()
    assert load_state_dict_file(model, work / target / "densenet.pt") == [
        "classifier.weight",
        "classifier.bias",
    ]
    att = DualAttentionDenseNet()
    load_state_dict_file(att, work / target / "att.pt")
    got = att.state_dict()["stage4.1.denselayer7.norm2.weight"]  # denseblock4 of features
    assert torch.equal(got, old["features.denseblock4.denselayer7.norm.2.weight"])
