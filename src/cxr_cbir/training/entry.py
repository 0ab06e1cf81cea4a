"""One entry for every training job: seed, build the network, start it, fit, report, finish.

The five training scripts (classifiers, metric models, severity model, pretraining,
lung members) differ in their data and their fit; the order of what surrounds the fit
is written only here:

1. ``seed_everything(seed)`` right before the network is built, so the same seed gives
   the same random init in every family;
2. the family's network from its spec (``build``), started from ``paths.init`` when a
   rule gives one (``start``: a weights file for the DenseNets, a trained trunk for
   the dml network);
3. ``fit(model)`` -> ``(model, history, *extra)``;
4. ``report(model, history, *extra)``: the job's tables (metrics, predictions);
5. ``engine.finish``: history, then weights (the output that marks the job done), and
   the resume checkpoint removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from cxr_cbir import models
from cxr_cbir.errors import InputError
from cxr_cbir.models.embedding import init_trunk_from
from cxr_cbir.segmentation.members import build_member, member_outputs
from cxr_cbir.torch_utils import load_state_dict_file, seed_everything
from cxr_cbir.training.engine import finish

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainPaths:
    """Where a training job writes (``model``, ``history``), resumes from (``checkpoint``)
    and starts from (``init``: a weights file, or None for the family's own init)."""

    model: str | Path
    history: str | Path
    checkpoint: str | Path
    init: str | Path | None = None

    @classmethod
    def of_job(cls, output, params, init=None) -> TrainPaths:
        """A rule's paths: ``output.model``, ``output.history``, ``params.checkpoint``, and
        its ``init`` input (a path, or a list of none or one path) when it has one."""
        if init is not None and not isinstance(init, (str, Path)):
            init = init[0] if len(init) else None
        return cls(output.model, output.history, params.checkpoint, init or None)


def _load_weights(model: torch.nn.Module, path) -> str:
    missing = load_state_dict_file(model, path)
    return f"initialised from {path} ({len(missing)} tensors left at random)"


def _load_trunk(model: torch.nn.Module, path) -> str:
    return f"dml trunk ({init_trunk_from(model, path)} tensors) from {path}"


# family -> (the network its spec names, how an init file starts it)
FAMILIES: dict[str, tuple[Callable[[dict], torch.nn.Module], Callable | None]] = {
    # spec: {"kind": "cnn" | "ig" | "att"}
    "classifier": (lambda spec: models.build(spec["kind"]), _load_weights),
    # spec: the metric_learning settings of the model, with "kind": "dml" | "ce"
    "metric": (lambda spec: models.build(spec["kind"], spec), _load_trunk),
    # spec: {"targets": [...]}: the severity model and the pretraining network
    "multi_output": (lambda spec: models.build("sev", spec), _load_weights),
    # spec: {"arch", "encoder", "weights" (optional), "heads" (lung conventions, optional)}
    "lung_member": (
        lambda spec: build_member(
            spec["arch"],
            spec["encoder"],
            spec.get("weights"),
            classes=member_outputs(spec),
        ),
        None,  # a member's own weights file is its spec's "weights"
    ),
}


def build(family: str, spec: dict) -> torch.nn.Module:
    """The untrained network of ``family`` for ``spec`` (random init from the global seed)."""
    if family not in FAMILIES:
        raise InputError(f"unknown training family {family!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[family][0](spec)


def train(
    family: str,
    spec: dict,
    fit: Callable[[torch.nn.Module], tuple],
    paths: TrainPaths,
    *,
    seed: int,
    report: Callable[..., None] | None = None,
    label: dict | None = None,
) -> tuple:
    """Seed, build, start, fit, report and finish one training job; returns what ``fit``
    returned. ``label`` columns (condition, model) are added to the history written."""
    seed_everything(seed)  # the random init too: same seed, same model
    # what makes one draw differ from another on the CPU (docs/results.md, 2026-12-08)
    log.info(
        "torch %s, CPU kernels %s, %d threads, seed %d",
        torch.__version__,
        torch.backends.cpu.get_cpu_capability(),
        torch.get_num_threads(),
        seed,
    )
    model = build(family, spec)
    if paths.init:
        start = FAMILIES[family][1]
        if start is None:
            raise InputError(f"{family}: an init file is not used by this family ({paths.init})")
        log.info(start(model, paths.init))
    model, history, *extra = fit(model)
    if report is not None:
        report(model, history, *extra)
    history = history.assign(**(label or {}))
    finish(model, history, paths.model, paths.history, paths.checkpoint)
    return (model, history, *extra)
