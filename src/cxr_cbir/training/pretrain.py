"""Pretraining on every film of the run: one DenseNet-121 trunk, many findings at once.

Both papers start their networks from weights learned on large archives. This stage is
the run's own version: a DenseNet-121 trained on every cached film (all archive folders
of the config) to predict every binary finding the archive records (``covid``,
``pneumonia``, NIH's ``finding_*`` columns, ...), a masked, class-weighted binary
cross-entropy so that a film contributes the findings it has and none it lacks. Its
weights start the classifiers and the severity model (``init: pretrain``). The kept
epoch has the best mean validation AUC over the findings; test films are never seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.auc import rank_auc
from cxr_cbir.models.inputs import prepare
from cxr_cbir.training.augment import paper_affine
from cxr_cbir.training.engine import to_device
from cxr_cbir.training.multi_output import MaskedTargets, Recipe, fit_task, predict_outputs


def finding_matrix(table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """(N, K) float: 1 / 0 where a film's finding is recorded, NaN where it is not."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"pretrain: target columns {missing} are not in the manifest; "
            f"available: {sorted(table.columns)}"
        )
    y = np.full((len(table), len(columns)), np.nan)
    for k, c in enumerate(columns):
        v = pd.to_numeric(table[c], errors="coerce").to_numpy(float)
        y[:, k] = np.where(np.isin(v, (0.0, 1.0)), v, np.nan)
    return y


def positive_weights(y: np.ndarray) -> torch.Tensor:
    """Per finding, negatives / positives among the films that record it (1 if none)."""
    pos = np.nansum(y == 1, axis=0).astype(float)
    neg = np.nansum(y == 0, axis=0).astype(float)
    return torch.tensor(np.where(pos > 0, neg / np.maximum(pos, 1), 1.0), dtype=torch.float32)


def mean_auc(y: np.ndarray, scores: np.ndarray) -> tuple[float, list[float]]:
    """Mean ROC AUC over the findings with both classes among the recorded films."""
    aucs = []
    for k in range(y.shape[1]):
        ok = np.isfinite(y[:, k])
        t = y[ok, k]
        aucs.append(rank_auc(t.astype(int), scores[ok, k]) if 0 < t.sum() < len(t) else np.nan)
    finite = [a for a in aucs if np.isfinite(a)]
    return (float(np.mean(finite)) if finite else float("nan")), aucs


class MultiFindingTask(MaskedTargets):
    """Masked, positive-weighted BCE over findings; validation mean AUC."""

    def __init__(self, model, train_x, train_y, val_x, val_y, batch_size, device, workers=0):
        super().__init__(model, train_x, train_y, batch_size, device, workers)
        self.val_x, self.val_y = val_x, val_y
        self.pos_weight = positive_weights(train_y).to(device)

    def loss(self, batch, generator):
        x, t, m = to_device(batch, self.device)
        x = paper_affine(prepare(x), generator)
        logits = self.model(x).float()
        bce = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, t, pos_weight=self.pos_weight, reduction="none"
        )
        return (bce * m).sum() / m.sum().clamp(min=1.0)

    def validate(self):
        scores = predict_outputs(self.model, self.val_x, self.batch_size, self.device)
        auc, _ = mean_auc(self.val_y, scores)
        return {"mean_auc": auc}


def pretrain(
    model: torch.nn.Module,
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    recipe: Recipe,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """The multi-finding model at its best validation mean AUC, and its history."""
    keep = np.isfinite(train_y).any(axis=1)
    train_x, train_y = train_x[keep], train_y[keep]
    if len(train_y) < 10:
        raise InputError(f"pretrain: {len(train_y)} training films record a finding")
    device = torch.device(recipe.device)
    model = model.to(device).to(memory_format=torch.channels_last)
    task = MultiFindingTask(
        model, train_x, train_y, val_x, val_y, recipe.batch_size, device, recipe.workers
    )
    fingerprint = f"pretrain|{train_y.shape[1]}|{len(train_x)}"
    return fit_task(task, recipe, "mean_auc", "pretrain epoch", fingerprint)
