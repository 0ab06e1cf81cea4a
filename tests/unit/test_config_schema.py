"""The JSON schema rejects bad configs, naming the key, before any job runs."""

import copy
from pathlib import Path

import pytest
import yaml
from support.workflow import REPO

from cxr_cbir.errors import InputError
from cxr_cbir.run.config import validate_config

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
CONFIGS = sorted((REPO / "config").glob("*.yaml")) + [REPO / "tests/config/tiny.yaml"]


@pytest.fixture
def demo_config():
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def _holds_default(value, default) -> bool:
    """The filled value is the default (an object default: its keys, nested defaults
    of the schema added beside them)."""
    if isinstance(default, dict):
        return isinstance(value, dict) and all(value.get(k) == v for k, v in default.items())
    return value == default


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    raw = yaml.safe_load(Path(path).read_text())
    cfg = validate_config(copy.deepcopy(raw), SCHEMA)
    # every key the file leaves out, at the top level and one level down, gets the
    # schema's default (at least one such key in every shipped config)
    schema = yaml.safe_load(SCHEMA.read_text())
    filled = []
    for key, spec in schema["properties"].items():
        if key not in raw:
            if "default" in spec:
                assert _holds_default(cfg[key], spec["default"]), key
                filled.append(key)
            continue
        for sub, sub_spec in (spec.get("properties") or {}).items():
            if isinstance(raw[key], dict) and sub not in raw[key] and "default" in sub_spec:
                assert _holds_default(cfg[key][sub], sub_spec["default"]), f"{key}.{sub}"
                filled.append(f"{key}.{sub}")
    assert filled, path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(sede=1), r"config key '<top level>'.*'sede' was unexpected"),
        (lambda c: c["preprocess"].update(image_size=-5), r"'preprocess.image_size': -5 is less"),
        (
            lambda c: c["preprocess"].update(image_size="big"),
            r"'preprocess.image_size': 'big' is not",
        ),
        (
            lambda c: c["conditions"]["effusion"].update(views=["LATERAL"]),
            r"'conditions.effusion.views.0': 'LATERAL' is not one of",
        ),
        (lambda c: c["data"].update(format="dicom"), r"'data.format': 'dicom' is not one of"),
        (
            lambda c: c["conditions"]["effusion"]["severity"].update(ties="random"),
            r"'conditions.effusion.severity.ties': 'random' is not one of",
        ),
        (
            lambda c: c["conditions"]["effusion"].update(balanced_catalogues="yes"),
            r"'conditions.effusion.balanced_catalogues': 'yes' is not of type",
        ),
        (
            lambda c: c["models"].update(methods=["cnn", "vgg"]),
            r"'models.methods.1': 'vgg' is not one of",
        ),
        (lambda c: c["evaluation"].pop("ndcg_k"), r"'evaluation': 'ndcg_k' is a required"),
        (
            lambda c: [c["conditions"]["effusion"].pop(k) for k in ("severity", "expert_rankings")],
            r"'conditions.effusion': give either",
        ),
        (  # cnn_sev learns the severity score: a condition graded by a CSV alone has none
            lambda c: [
                c["models"].update(methods=["cnn", "cnn_sev"]),
                c["conditions"]["pneumonia"].pop("severity"),
            ],
            r"'conditions.pneumonia.severity.column': models.methods has cnn_sev",
        ),
        (  # so does the severity model
            lambda c: [
                c["models"].update(methods=["cnn", "sev"]),
                c["conditions"]["pneumonia"].pop("severity"),
            ],
            r"'conditions.pneumonia.severity.column': models.methods has sev",
        ),
        (  # init: pretrain needs the stage's settings
            lambda c: [
                c.pop("pretrain"),
                c["severity_model"].update(init="cnn"),
                c["conditions"]["effusion"]["init"].update(cnn="pretrain"),
            ],
            r"'conditions.effusion.init.cnn': 'pretrain' needs a 'pretrain' block",
        ),
        (
            lambda c: [
                c.update(pretrain={"targets": ["finding"]}),
                c["conditions"]["effusion"]["init"].update(att="pretrain"),
            ],
            r"'conditions.effusion.init.att': 'pretrain' starts DenseNet-121",
        ),
        (
            lambda c: [c.pop("pretrain"), c["severity_model"].update(init="pretrain")],
            r"'severity_model.init': 'pretrain' needs a 'pretrain' block",
        ),
        (
            lambda c: c["metric_learning"].update(init="torchvision:resnet18"),
            r"'metric_learning.init': 'torchvision:resnet18' does not match",
        ),
        (
            lambda c: c["conditions"]["effusion"]["init"].update(cnn="imagenet:densenet"),
            r"'conditions.effusion.init.cnn': 'imagenet:densenet' is not 'random'",
        ),
        (
            lambda c: c["preprocess"].update(intensity="clahe"),
            r"'preprocess.intensity': 'clahe' is not one of \['none', 'equalize'\]",
        ),
        (
            lambda c: c["conditions"]["effusion"].update(folders=[]),
            r"'conditions.effusion.folders': \[\] should be non-empty",
        ),
        (
            lambda c: c["segmentation"].update(masks_root=["a", "a"]),
            r"'segmentation.masks_root'",
        ),
        (  # a severity head with nothing to regress
            lambda c: c["metric_learning"].update(severity_weight=1.0),
            r"'metric_learning.severity_targets': required when severity_weight > 0",
        ),
        (
            lambda c: c["metric_learning"].update(severity_weight=-1),
            r"'metric_learning.severity_weight': -1 is less than the minimum of 0",
        ),
    ],
)
def test_invalid_config_names_the_key(demo_config, change, message):
    cfg = copy.deepcopy(demo_config)
    change(cfg)
    with pytest.raises(InputError, match=message):
        validate_config(cfg, SCHEMA)


def test_mask_folders_as_a_list_and_defaults_of_the_new_keys(demo_config):
    cfg = copy.deepcopy(demo_config)
    cfg["segmentation"].update(pairs="lung-masks", masks_root=["lung-masks", "lung-masks-jsrt"])
    out = validate_config(cfg, SCHEMA)
    assert out["segmentation"]["masks_root"] == ["lung-masks", "lung-masks-jsrt"]
    assert out["preprocess"]["intensity"] == "none"
    assert out["pretrain"]["views"] == ["PA", "AP"]


@pytest.mark.parametrize(
    ("init", "message"),
    [
        ({"cnn": "cnn:effusion"}, "cannot start from itself|initialisation cycle"),
        ({"cnn": "resnet:effusion"}, "is not 'random'"),
        ({"cnn": "cnn:nowhere"}, "is not 'random'"),
    ],
)
def test_init_chain_errors_name_the_key(demo_config, init, message):
    demo_config["conditions"]["effusion"]["init"] = init
    with pytest.raises(InputError, match="conditions.effusion.init.cnn.*(" + message + ")"):
        validate_config(demo_config, SCHEMA)


def test_init_cycle_across_conditions(demo_config):
    demo_config["conditions"]["effusion"]["init"] = {"cnn": "cnn:pneumonia"}
    with pytest.raises(InputError, match="initialisation cycle"):
        validate_config(demo_config, SCHEMA)
