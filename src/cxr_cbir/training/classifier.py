"""Train a binary classifier (CNN, IG or ATT) the way Silva et al. did.

Binary cross-entropy with inverse-frequency class weights; the optimiser of the
condition (Adadelta, Adam or SGD, from config); small rotations and translations; the
epoch kept is the one with the best validation F1. A checkpoint is written after every
epoch and each epoch reseeds from (seed, epoch), so a killed job rerun resumes and ends
with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..errors import InputError
from ..models.densenet import prepare
from ..torch_utils import (
    history_from_state,
    history_to_state,
    resume,
    save_checkpoint,
    seed_everything,
)
from .augment import random_affine
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


@torch.inference_mode()
def predict(model, inputs: np.ndarray, batch_size: int, device) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(inputs), batch_size):
        x = prepare(torch.from_numpy(np.array(inputs[i : i + batch_size]))).to(device)
        out.append(torch.sigmoid(model(x)).squeeze(1).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def train_classifier(
    model: torch.nn.Module,
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    optimizer: str,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    checkpoint: str | Path,
    device="cpu",
    augment: dict | None = None,
    max_steps: int | None = None,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Returns the model at its best-validation-F1 epoch and the per-epoch history."""
    device = torch.device(device)
    model = model.to(device).to(memory_format=torch.channels_last)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    weights = class_weights(train_y).to(device)
    augment = augment or {"degrees": 5.0, "translate": 0.05}
    fingerprint = f"{type(model).__name__}|{optimizer}|{lr}|{batch_size}|{seed}|{len(train_x)}"
    state = resume(checkpoint, fingerprint, model, opt, device)
    history: list[dict] = history_from_state(state) if state else []
    best = {"f1": -1.0, "epoch": -1, "state": None}
    start = 0
    if state:
        start = int(state["epoch"]) + 1
        best = {
            "f1": float(state["best_f1"]),
            "epoch": int(state["best_epoch"]),
            "state": state["best_model"],
        }
        log.info("resuming from epoch %d (best F1 %.3f so far)", start + 1, best["f1"])
    ytrain = torch.from_numpy(np.asarray(train_y, np.float32))
    steps = 0
    for epoch in range(start, epochs):
        seed_everything(seed * 1000 + epoch)
        gen = torch.Generator().manual_seed(seed * 1000 + epoch)
        order = torch.randperm(len(train_x), generator=gen).numpy()
        model.train()
        t0, losses = time.perf_counter(), []
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        for idx in tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", mininterval=5):
            x = prepare(torch.from_numpy(np.asarray(train_x[np.sort(idx)]))).to(device)
            x = random_affine(x, augment["degrees"], augment["translate"], generator=gen)
            y = ytrain[np.sort(idx)].to(device)
            logits = model(x).squeeze(1)
            w = weights[y.long()]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, weight=w)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            steps += 1
            if max_steps and steps >= max_steps:
                break
        seconds = time.perf_counter() - t0
        val_p = predict(model, val_x, batch_size, device)
        val = binary_metrics(val_y, val_p)
        row = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "val_f1": val["f1"],
            "val_auc": val["auc"],
            "seconds": seconds,
            "images_per_s": len(losses) * batch_size / max(seconds, 1e-9),
        }
        history.append(row)
        log.info(
            "epoch %d: loss %.4f val F1 %.3f AUC %.3f (%.0f s)",
            row["epoch"],
            row["train_loss"],
            val["f1"],
            val["auc"],
            seconds,
        )
        if val["f1"] > best["f1"]:
            best = {
                "f1": val["f1"],
                "epoch": epoch,
                "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
            }
        save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "fingerprint": fingerprint,
                "best_f1": best["f1"],
                "best_epoch": best["epoch"],
                "best_model": best["state"],
                "history": history_to_state(history),
            },
            checkpoint,
        )
        if max_steps and steps >= max_steps:
            break
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    hist = pd.DataFrame(history)
    hist["kept"] = hist["epoch"] == best["epoch"] + 1
    return model, hist
