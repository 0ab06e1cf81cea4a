"""What the multi-output DenseNet's trainers share (the severity model, the pretraining
stage): a table of targets with unknown entries (NaN) masked out of the loss, shuffled
batches, prediction and the engine call from a config recipe."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cxr_cbir.models.inputs import prepare
from cxr_cbir.training.classifier import make_optimizer
from cxr_cbir.training.engine import Budget, batch_loader, fit


@torch.inference_mode()
def predict_outputs(model, images: np.ndarray, batch_size: int, device) -> np.ndarray:
    """(N, K) raw outputs of an eval-mode multi-output model."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(np.asarray(images[i : i + batch_size])).to(device)
        out.append(model(prepare(x)).float().cpu().numpy())
    k = getattr(model, "n_outputs", 1)
    return np.concatenate(out) if out else np.zeros((0, k), np.float32)


class MaskedTargets:
    """Training films with (N, K) targets, NaN where unknown: the loss sees ``mask``."""

    def __init__(self, model, train_x, train_y, batch_size, device, workers=0):
        self.model, self.device, self.batch_size = model, device, batch_size
        self.workers = workers
        self.train_x = train_x
        self.targets = torch.from_numpy(np.nan_to_num(train_y, nan=0.0).astype(np.float32))
        self.mask = torch.from_numpy(np.isfinite(train_y).astype(np.float32))

    def batches(self, epoch, generator):
        order = torch.randperm(len(self.train_x), generator=generator).numpy()
        step = self.batch_size
        return [np.sort(order[i : i + step]) for i in range(0, len(order), step)]

    def load(self, idx: np.ndarray):
        x = torch.from_numpy(np.array(self.train_x[idx]))
        return x, self.targets[idx], self.mask[idx]


@dataclass
class Recipe:
    """How one multi-output model is trained: optimizer, rate, budget, batch, seed, and
    where its resume checkpoint lives."""

    optimizer: str
    lr: float
    budget: Budget
    batch_size: int
    seed: int
    checkpoint: str | Path
    device: str | torch.device = "cpu"
    workers: int = 0

    @classmethod
    def from_rule(cls, spec: dict, params, device) -> Recipe:
        """From a rule's ``spec`` (optimizer, lr, budget, batch_size) and ``params``
        (amp, workers, seed, checkpoint)."""
        return cls(
            optimizer=spec["optimizer"],
            lr=spec["lr"],
            budget=Budget.from_config({**spec["budget"], "amp": params.amp}),
            batch_size=spec["batch_size"],
            seed=params.seed,
            checkpoint=params.checkpoint,
            device=device,
            workers=params.workers,
        )


def fit_task(task, recipe: Recipe, monitor: str, desc: str, fingerprint: str):
    """The engine on a ``MaskedTargets`` task: the model at its best ``monitor`` (max)."""
    model, r = task.model, recipe
    return fit(
        model,
        make_optimizer(r.optimizer, model.parameters(), r.lr),
        task,
        r.budget,
        monitor=monitor,
        mode="max",
        seed=r.seed,
        checkpoint=r.checkpoint,
        fingerprint=f"{fingerprint}|{r.optimizer}|{r.lr}|{r.batch_size}|{r.seed}",
        device=task.device,
        loader=batch_loader(task.load, task.device, task.workers),
        desc=desc,
    )
