"""One training engine for classifiers, metric-learning models and segmentation members.

Why our own loop and not Lightning/Ignite: the pipeline's resume guarantee is that a job
killed after epoch e and rerun ends with bit-identical weights. That holds here because
every epoch reseeds every generator from (seed, epoch), the learning rate is a pure
function of the epoch (no scheduler state to restore), and the checkpoint written after
each epoch holds everything else (weights, optimizer, best weights so far, patience
counter, history). Lightning restores its own loop state but not our per-epoch
generators, adds a dependency tree the CPU-only CI must install, and writes checkpoints
with pickled objects that ``torch.load(weights_only=True)`` refuses.

An *epoch* is whatever the task says it is: one pass over the films (classifiers,
segmentation) or a chunk of sampled batches (metric learning). After each epoch the task
validates; the kept weights are those of the best validation score (``monitor``, higher
or lower is better by ``mode``), and training stops after ``patience`` epochs without
improvement. The per-epoch history has the training loss, every validation figure, the
learning rate, seconds and images per second.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import write_csv
from cxr_cbir.torch_utils import (
    history_from_state,
    history_to_state,
    resume,
    save_checkpoint,
    seed_everything,
)

log = logging.getLogger(__name__)

AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}
SCHEDULES = ("constant", "cosine")


@dataclass
class Budget:
    """How long to train and how to choose the kept epoch."""

    epochs: int
    patience: int = 0  # 0: never stop early
    min_epochs: int = 1  # no early stop before this many epochs
    schedule: str = "constant"  # constant | cosine (per epoch, to lr * min_lr_factor)
    warmup_epochs: int = 0
    min_lr_factor: float = 0.05
    amp: str = "none"  # none | bf16 | fp16 (autocast; fp16 scales the loss on CUDA)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise InputError(f"training budget: epochs must be >= 1, got {self.epochs}")
        if self.schedule not in SCHEDULES:
            raise InputError(f"training schedule: unknown {self.schedule!r}; use {SCHEDULES}")
        if self.amp not in AMP_DTYPES:
            raise InputError(f"training amp: unknown {self.amp!r}; use {sorted(AMP_DTYPES)}")

    @classmethod
    def from_config(cls, cfg: dict) -> Budget:
        """From a config block (absent or null keys take the defaults above)."""
        given = {k: v for k, v in cfg.items() if v is not None}
        return cls(
            epochs=int(given["epochs"]),
            patience=int(given.get("patience", 0)),
            min_epochs=int(given.get("min_epochs", 1)),
            schedule=given.get("schedule", "constant"),
            warmup_epochs=int(given.get("warmup_epochs", 0)),
            min_lr_factor=float(given.get("min_lr_factor", 0.05)),
            amp=given.get("amp", "none"),
        )

    def lr_factor(self, epoch: int) -> float:
        """Multiplier of the base learning rate in ``epoch`` (0-based)."""
        if epoch < self.warmup_epochs:
            return (epoch + 1) / (self.warmup_epochs + 1)
        if self.schedule == "constant":
            return 1.0
        span = max(self.epochs - self.warmup_epochs - 1, 1)
        t = min((epoch - self.warmup_epochs) / span, 1.0)
        return self.min_lr_factor + (1 - self.min_lr_factor) * 0.5 * (1 + math.cos(math.pi * t))


class Task(Protocol):
    """What the engine needs from a model family."""

    def batches(self, epoch: int, generator: torch.Generator) -> list[np.ndarray]:
        """The index arrays of this epoch's batches (seeded by the engine)."""

    def loss(self, batch, generator: torch.Generator) -> torch.Tensor:
        """The training loss of one loaded batch (augmentation uses ``generator``)."""

    def validate(self) -> dict[str, float]:
        """Validation figures (model already in eval mode); must hold the monitored key."""


def autocast(device: torch.device, amp: str):
    """Autocast context for ``amp`` (a no-op for 'none')."""
    dtype = AMP_DTYPES[amp]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _improved(score: float, best: float | None, mode: str) -> bool:
    if not np.isfinite(score):
        return False
    if best is None:
        return True
    return score > best if mode == "max" else score < best


def grad_scaler(device: torch.device, amp: str) -> torch.amp.GradScaler:
    """Loss scaling, on for fp16 autocast on CUDA only (a no-op wrapper otherwise)."""
    return torch.amp.GradScaler(device.type, enabled=amp == "fp16" and device.type == "cuda")


def train_step(
    task: Task,
    batch,
    generator: torch.Generator,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    amp: str,
    where: str = "train",
) -> torch.Tensor:
    """One optimisation step on a loaded batch: what ``fit`` runs, and what
    ``bench/bench_train.py`` times. A non-finite loss stops before it touches the weights."""
    with autocast(device, amp):
        loss = task.loss(batch, generator)
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"{where}: non-finite training loss; lower the learning rate or turn off mixed "
            "precision"
        )
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    task: Task,
    budget: Budget,
    *,
    monitor: str,
    mode: str,
    seed: int,
    checkpoint: str | Path,
    fingerprint: str,
    device: torch.device,
    loader: Callable[[list[np.ndarray]], object] | None = None,
    desc: str = "train",
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Train ``model`` on ``task``; return it at its best validation epoch and the history.

    ``loader`` turns the epoch's index batches into an iterable of loaded batches
    (``batch_loader``); by default the task's ``loss`` gets the index arrays themselves.
    The history has one row per epoch and a ``kept`` column marking the returned epoch.
    """
    if mode not in ("max", "min"):
        raise InputError(f"mode must be 'max' or 'min', got {mode!r}")
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    scaler = grad_scaler(device, budget.amp)
    fingerprint = f"{fingerprint}|{budget.schedule}|{budget.warmup_epochs}|{budget.amp}"
    state = resume(checkpoint, fingerprint, model, optimizer, device)
    history: list[dict] = history_from_state(state) if state else []
    best = {"score": None, "epoch": -1, "state": None}
    bad, start, stopped = 0, 0, False
    if state:
        start = int(state["epoch"]) + 1
        bad, stopped = int(state["bad_epochs"]), bool(state["stopped"])
        if int(state["best_epoch"]) >= 0:
            best = {
                "score": float(state["best_score"]),
                "epoch": int(state["best_epoch"]),
                "state": state["best_model"],
            }
        log.info("%s: resuming from epoch %d (best %s so far)", desc, start + 1, best["score"])
    for epoch in range(start, budget.epochs):
        if stopped:
            break
        seed_everything(seed * 1000 + epoch)
        gen = torch.Generator().manual_seed(seed * 1000 + epoch)
        factor = budget.lr_factor(epoch)
        for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = base * factor
        batches = task.batches(epoch, gen)
        data = loader(batches) if loader else batches
        model.train()
        t0, losses, seen = time.perf_counter(), [], 0
        bar = tqdm(
            data, total=len(batches), desc=f"{desc} {epoch + 1}/{budget.epochs}", mininterval=5
        )
        for batch in bar:
            loss = train_step(
                task,
                batch,
                gen,
                optimizer,
                scaler,
                device,
                budget.amp,
                f"{desc}, epoch {epoch + 1}",
            )
            losses.append(float(loss.detach()))
            seen += _batch_len(batch)
        seconds = time.perf_counter() - t0
        model.eval()
        with torch.inference_mode(), autocast(device, budget.amp):
            val = task.validate()
        if monitor not in val:
            raise KeyError(f"validation gave {sorted(val)}, not the monitored {monitor!r}")
        score = float(val[monitor])
        row = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            **{f"val_{k}": float(v) for k, v in val.items()},
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "images_per_s": seen / max(seconds, 1e-9),
        }
        history.append(row)
        if _improved(score, best["score"], mode):
            best = {
                "score": score,
                "epoch": epoch,
                "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
            }
            bad = 0
        else:
            bad += 1
        stopped = (
            bool(budget.patience) and bad >= budget.patience and epoch + 1 >= budget.min_epochs
        )
        log.info(
            "%s %d: loss %.4f, val %s %.4f (best %.4f at %d), lr %.2e, %.1f img/s%s",
            desc,
            epoch + 1,
            row["train_loss"],
            monitor,
            score,
            best["score"] if best["score"] is not None else float("nan"),
            best["epoch"] + 1,
            row["lr"],
            row["images_per_s"],
            "; stopping early" if stopped else "",
        )
        save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
                "fingerprint": fingerprint,
                "best_score": best["score"] if best["score"] is not None else float("nan"),
                "best_epoch": best["epoch"],
                "best_model": best["state"] or {},
                "bad_epochs": bad,
                "stopped": stopped,
                "history": history_to_state(history),
            },
            checkpoint,
        )
    hist = pd.DataFrame(history)
    if best["state"]:
        model.load_state_dict(best["state"])
        hist["kept"] = hist["epoch"] == best["epoch"] + 1
    else:  # no finite validation score: the last epoch's weights are returned
        hist["kept"] = hist["epoch"] == hist["epoch"].max()
    model.eval()
    return model, hist


def _batch_len(batch) -> int:
    if isinstance(batch, (tuple, list)):
        batch = batch[0]
    return len(batch)


class _IndexBatches(torch.utils.data.Dataset):
    """Item i is the i-th batch, loaded by ``load(index_array)`` (in a worker if any)."""

    def __init__(self, batches: list[np.ndarray], load: Callable) -> None:
        self.batches, self.load = batches, load

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        return self.load(self.batches[i])


def batch_loader(
    load: Callable[[np.ndarray], object],
    device: torch.device,
    workers: int = 0,
    pin_memory: bool | None = None,
) -> Callable[[list[np.ndarray]], torch.utils.data.DataLoader]:
    """A loader factory: the epoch's index batches -> DataLoader of loaded CPU batches.

    Loading is a pure function of the index array (augmentation that needs randomness
    stays on the training side, seeded by the engine), so the number of workers never
    changes what is trained. Pinned memory defaults to on when training on CUDA.
    """
    pin = device.type == "cuda" if pin_memory is None else bool(pin_memory)

    def make(batches: list[np.ndarray]):
        return torch.utils.data.DataLoader(
            _IndexBatches(batches, load),
            batch_size=None,
            shuffle=False,
            num_workers=workers,
            pin_memory=pin,
            persistent_workers=False,
        )

    return make


def to_device(x, device: torch.device):
    """Move a tensor (or tuple of tensors) to ``device``, asynchronously from pinned memory."""
    if isinstance(x, (tuple, list)):
        return type(x)(to_device(v, device) for v in x)
    return x.to(device, non_blocking=True)


def finish(model, history: pd.DataFrame, model_path, history_path, checkpoint: str | Path):
    """A training job's ending: history and weights written, the resume checkpoint removed
    (a later rerun starts afresh)."""
    write_csv(history, history_path)
    save_checkpoint(model.state_dict(), model_path)
    if os.path.exists(checkpoint):
        os.remove(checkpoint)
