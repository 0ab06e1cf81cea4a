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

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..auc import rank_auc
from ..errors import InputError
from ..models.densenet import prepare
from .augment import random_affine
from .classifier import make_optimizer
from .engine import Budget, batch_loader, fit, to_device
from .severity import predict_severity

log = logging.getLogger(__name__)


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


class MultiFindingTask:
    """Masked, positive-weighted BCE over findings; validation mean AUC."""

    def __init__(self, model, train_x, train_y, val_x, val_y, batch_size, device, augment):
        self.model, self.device, self.augment = model, device, augment
        self.train_x, self.val_x, self.val_y = train_x, val_x, val_y
        self.train_t = torch.from_numpy(np.nan_to_num(train_y, nan=0.0).astype(np.float32))
        self.train_m = torch.from_numpy(np.isfinite(train_y).astype(np.float32))
        self.pos_weight = positive_weights(train_y).to(device)
        self.batch_size = batch_size

    def batches(self, epoch, generator):
        order = torch.randperm(len(self.train_x), generator=generator).numpy()
        return [
            np.sort(order[i : i + self.batch_size]) for i in range(0, len(order), self.batch_size)
        ]

    def load(self, idx: np.ndarray):
        x = torch.from_numpy(np.array(self.train_x[idx]))
        return x, self.train_t[idx], self.train_m[idx]

    def loss(self, batch, generator):
        x, t, m = to_device(batch, self.device)
        x = random_affine(prepare(x), self.augment["degrees"], self.augment["translate"], generator)
        logits = self.model(x).float()
        bce = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, t, pos_weight=self.pos_weight, reduction="none"
        )
        return (bce * m).sum() / m.sum().clamp(min=1.0)

    def validate(self):
        scores = predict_severity(self.model, self.val_x, self.batch_size, self.device)
        auc, _ = mean_auc(self.val_y, scores)
        return {"mean_auc": auc}


def pretrain(
    model: torch.nn.Module,
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    optimizer: str,
    lr: float,
    budget: Budget,
    batch_size: int,
    seed: int,
    checkpoint: str | Path,
    device="cpu",
    augment: dict | None = None,
    workers: int = 0,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """The multi-finding model at its best validation mean AUC, and its history."""
    keep = np.isfinite(train_y).any(axis=1)
    train_x, train_y = train_x[keep], train_y[keep]
    if len(train_y) < 10:
        raise InputError(f"pretrain: {len(train_y)} training films record a finding")
    device = torch.device(device)
    model = model.to(device).to(memory_format=torch.channels_last)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    augment = augment or {"degrees": 5.0, "translate": 0.05}
    task = MultiFindingTask(model, train_x, train_y, val_x, val_y, batch_size, device, augment)
    return fit(
        model,
        opt,
        task,
        budget,
        monitor="mean_auc",
        mode="max",
        seed=seed,
        checkpoint=checkpoint,
        fingerprint=(
            f"pretrain|{train_y.shape[1]}|{optimizer}|{lr}|{batch_size}|{seed}|{len(train_x)}"
        ),
        device=device,
        loader=batch_loader(task.load, device, workers),
        desc="pretrain epoch",
    )
