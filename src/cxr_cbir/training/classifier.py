"""Train a binary classifier (CNN, IG or ATT) the way Silva et al. did, on the engine.

Binary cross-entropy with inverse-frequency class weights; the optimiser of the
condition (Adadelta, Adam or SGD, from config); small rotations and translations. The
kept epoch is the one with the best validation ROC AUC (threshold-free: F1 at a fixed
0.5 ties at the predict-everything-positive value for epochs in a row on a small
validation set), training stops after ``patience`` epochs without improvement, and the
decision threshold for F1 is chosen on validation (``choose_threshold``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..errors import InputError
from ..inference import predict
from ..models.densenet import prepare
from .augment import random_affine
from .engine import Budget, batch_loader, fit, to_device
from .metrics import binary_metrics

log = logging.getLogger(__name__)

OPTIMIZERS = {
    "adadelta": torch.optim.Adadelta,
    "adam": torch.optim.Adam,
    "sgd": torch.optim.SGD,
}


def make_optimizer(name: str, params, lr: float):
    if name not in OPTIMIZERS:
        raise InputError(f"optimizer: unknown {name!r}; use one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr=lr)


def class_weights(labels: np.ndarray) -> torch.Tensor:
    """Inverse-frequency weights w_c = N / (2 N_c) for classes 0 and 1."""
    counts = np.bincount(np.asarray(labels, int), minlength=2).astype(float)
    if (counts == 0).any():
        raise InputError(
            f"training set has {int(counts[0])} negatives and {int(counts[1])} positives: "
            "a class was emptied by filtering"
        )
    return torch.tensor(len(labels) / (2 * counts), dtype=torch.float32)


def choose_threshold(labels: np.ndarray, probs: np.ndarray) -> float:
    """The probability cut that maximises F1 on (validation) ``labels``.

    Candidates are the midpoints between consecutive distinct scores (and 0.5 when the
    scores are all equal); ties keep the highest cut, the most conservative one.
    """
    labels, probs = np.asarray(labels, int), np.asarray(probs, float)
    values = np.unique(probs)
    if len(values) < 2 or labels.sum() == 0:
        return 0.5
    cuts = np.concatenate([[values[0] / 2], (values[:-1] + values[1:]) / 2])
    f1 = [binary_metrics(labels, probs, c)["f1"] for c in cuts]
    best = np.flatnonzero(np.isclose(f1, max(f1)))[-1]
    return float(cuts[best])


class ClassifierTask:
    """Weighted BCE on shuffled batches; validation AUC, loss and F1 at 0.5."""

    def __init__(self, model, train_x, train_y, val_x, val_y, batch_size, device, augment):
        self.model, self.device, self.augment = model, device, augment
        self.train_x, self.val_x, self.val_y = train_x, val_x, np.asarray(val_y, int)
        self.train_y = torch.from_numpy(np.asarray(train_y, np.float32))
        self.weights = class_weights(train_y).to(device)
        self.batch_size = batch_size

    def batches(self, epoch, generator):
        order = torch.randperm(len(self.train_x), generator=generator).numpy()
        return [
            np.sort(order[i : i + self.batch_size]) for i in range(0, len(order), self.batch_size)
        ]

    def load(self, idx: np.ndarray):
        return torch.from_numpy(np.array(self.train_x[idx])), self.train_y[idx]

    def loss(self, batch, generator):
        x, y = to_device(batch, self.device)
        x = random_affine(prepare(x), self.augment["degrees"], self.augment["translate"], generator)
        logits = self.model(x).squeeze(1).float()
        w = self.weights[y.long()]
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, y, weight=w)

    def validate(self):
        p = predict(self.model, self.val_x, self.batch_size, self.device)
        m = binary_metrics(self.val_y, p)
        eps = 1e-6
        q = np.clip(p, eps, 1 - eps)
        bce = -np.mean(self.val_y * np.log(q) + (1 - self.val_y) * np.log(1 - q))
        return {"auc": m["auc"], "loss": float(bce), "f1": m["f1"]}


def train_classifier(
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
    max_steps: int | None = None,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Returns the model at its best validation epoch and the per-epoch history.

    The monitored score is validation AUC; when validation holds one class only, the
    validation loss (lower is better).
    """
    device = torch.device(device)
    model = model.to(device).to(memory_format=torch.channels_last)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    augment = augment or {"degrees": 5.0, "translate": 0.05}
    task = ClassifierTask(model, train_x, train_y, val_x, val_y, batch_size, device, augment)
    two_classes = len(np.unique(val_y)) == 2
    return fit(
        model,
        opt,
        task,
        budget,
        monitor="auc" if two_classes else "loss",
        mode="max" if two_classes else "min",
        seed=seed,
        checkpoint=checkpoint,
        fingerprint=f"{type(model).__name__}|{optimizer}|{lr}|{batch_size}|{seed}|{len(train_x)}",
        device=device,
        loader=batch_loader(task.load, device, workers),
        desc="classifier epoch",
        max_steps=max_steps,
    )
