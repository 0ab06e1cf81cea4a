"""Config validation against the workflow's JSON schema, with messages that name the key.

Defaults from the schema are filled in, so rules can read every optional key. Checks
that a schema cannot express (a condition needs either expert rankings or a severity
column; the catalogue must fit its size) follow the schema.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from cxr_cbir.errors import InputError


def _with_defaults(cls):
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = sub["default"]
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(cls, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft7Validator)


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Validate ``config`` in place (defaults filled); raise InputError naming the key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"config key '{_key(e.absolute_path)}': {e.message}" for e in errors]
        raise InputError("invalid config:\n  " + "\n  ".join(lines))
    sets = [(f"conditions.{n}", c) for n, c in config["conditions"].items()]
    sets += [(f"studies.{n}", s) for n, s in (config.get("studies") or {}).items()]
    for key, cond in sets:
        sev = cond.get("severity") or {}
        if not cond.get("expert_rankings") and not (sev.get("column") or sev.get("raters")):
            raise InputError(
                f"config key '{key}': give either 'expert_rankings' (a CSV) or "
                "'severity' with a 'column' or 'raters' to rank sampled catalogues by"
            )
    for name, study in (config.get("studies") or {}).items():
        if study["condition"] not in config["conditions"]:
            raise InputError(
                f"config key 'studies.{name}.condition': {study['condition']!r} is not one "
                f"of the conditions {sorted(config['conditions'])}"
            )
        if name in config["conditions"]:
            raise InputError(f"config key 'studies.{name}': a condition has that name")
    if config["data"].get("folders") and config["data"]["format"] != "covid-chestxray":
        raise InputError("config key 'data.folders': only for the covid-chestxray layout")
    if config["split"]["method"] == "group" and "fractions" not in config["split"]:
        raise InputError("config key 'split.fractions': required when split.method is 'group'")
    _check_models(config)
    ml = config.get("metric_learning") or {}
    if ml.get("severity_weight") and not ml.get("severity_targets"):
        raise InputError(
            "config key 'metric_learning.severity_targets': required when severity_weight > 0 "
            "(the graded columns the severity head regresses)"
        )
    if config.get("prognosis") and not config.get("metric_learning"):
        raise InputError("config key 'prognosis': needs 'metric_learning' (its image features)")
    seg = config.get("segmentation")
    if config.get("lung_mask", "none") != "none" and not seg:
        raise InputError(
            f"config key 'lung_mask': {config['lung_mask']!r} needs a 'segmentation' block"
        )
    if seg and seg["pairs"] == "lung-masks" and not seg.get("masks_root"):
        raise InputError("config key 'segmentation.masks_root': required for pairs 'lung-masks'")
    if seg and seg["pairs"] == "demo" and "demo" not in config:
        raise InputError("config key 'segmentation.pairs': 'demo' needs the demo archive")
    if "demo" in config and config["data"]["format"] != "mimic":
        raise InputError("config key 'demo': the demo archive is written in the 'mimic' layout")
    return config


LIBRARY_PREFIXES = ("torchvision:", "torchxrayvision:")


def _check_models(config: dict) -> None:
    """Every condition has a training recipe; init chains name known models, no cycles."""
    methods = (config.get("models") or {}).get("methods", [])
    if not methods:
        return
    conditions = config["conditions"]
    for name, cond in conditions.items():
        if "train" not in cond:
            raise InputError(f"config key 'conditions.{name}.train': required when models are run")
        sev_init = (config.get("severity_model") or {}).get("init", "cnn")
        if "sev" in methods and sev_init == "pretrain" and not config.get("pretrain"):
            raise InputError(
                "config key 'severity_model.init': 'pretrain' needs a 'pretrain' block"
            )
        for method in ("cnn_sev", "sev"):
            if method in methods and not (cond.get("severity") or {}).get("column"):
                raise InputError(
                    f"config key 'conditions.{name}.severity.column': models.methods has "
                    f"{method}, which learns to predict that score from the training films"
                )
    edges = {}
    for name, cond in conditions.items():
        for model, init in (cond.get("init") or {}).items():
            if init == "pretrain" and model == "att":
                raise InputError(
                    f"config key 'conditions.{name}.init.att': 'pretrain' starts DenseNet-121 "
                    "classifiers (cnn, ig); the attention model starts from random, a trained "
                    "model or library weights"
                )
            if init == "pretrain" and not config.get("pretrain"):
                raise InputError(
                    f"config key 'conditions.{name}.init.{model}': 'pretrain' needs a "
                    "'pretrain' block (its findings and recipe)"
                )
            if init.startswith("torchvision:") and init != "torchvision:imagenet":
                raise InputError(
                    f"config key 'conditions.{name}.init.{model}': torchvision's weights are "
                    "'torchvision:imagenet'"
                )
            if init in ("random", "pretrain") or init.startswith(LIBRARY_PREFIXES):
                continue
            if "/" in init or init.endswith((".pt", ".pth")):
                continue
            other_model, _, other_cond = init.partition(":")
            if other_model not in ("cnn", "ig", "att") or other_cond not in conditions:
                raise InputError(
                    f"config key 'conditions.{name}.init.{model}': {init!r} is not 'random', "
                    "'pretrain', '<cnn|ig|att>:<condition>', 'torchvision:imagenet', "
                    "'torchxrayvision:<weights>' or a weights file path"
                )
            edges[(model, name)] = (other_model, other_cond)
    for start in edges:
        seen, node = {start}, edges[start]
        while node in edges:
            if node in seen or edges[node] == start:
                raise InputError(
                    f"config key 'conditions.{start[1]}.init.{start[0]}': initialisation cycle"
                )
            seen.add(node)
            node = edges[node]
        if node == start:
            raise InputError(
                f"config key 'conditions.{start[1]}.init.{start[0]}': "
                "a model cannot start from itself"
            )
