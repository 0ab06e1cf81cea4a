"""Train the metric-learning embedding (Zhong et al.) and its cross-entropy baseline.

Metric model: multi-similarity loss (lambda = base = 0.5, alpha = 2, beta = 20) with its
hard-pair miner, on T x N class-balanced batches (T classes, N films each; paper 3 x 16)
drawn by pytorch-metric-learning's ``MPerClassSampler``; Adam. Baseline: the same
ResNet-50 trained with (class-weighted) cross-entropy on random batches of the same
size for the same number of iterations. Both: random crops in training, the whole image
at test. Training runs in chunks of ``checkpoint_every`` iterations, each reseeded from
(seed, chunk) and followed by a checkpoint, so a killed job resumes to the same weights.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pytorch_metric_learning import losses, miners, samplers
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
from .augment import random_crop

log = logging.getLogger(__name__)


def class_balanced_batches(
    labels: np.ndarray, per_class: int, classes_per_batch: int, n_batches: int, seed: int
) -> list[np.ndarray]:
    """``n_batches`` batches of ``classes_per_batch`` x ``per_class`` films (MPerClassSampler)."""
    n_classes = len(np.unique(labels))
    if classes_per_batch > n_classes:
        raise InputError(
            f"metric_learning.classes_per_batch: {classes_per_batch} classes per batch, but the "
            f"training split has {n_classes}"
        )
    batch = per_class * classes_per_batch
    np.random.seed(seed % 2**32)
    sampler = samplers.MPerClassSampler(
        labels, m=per_class, batch_size=batch, length_before_new_iter=batch * n_batches
    )
    idx = np.fromiter(iter(sampler), dtype=int)
    return [idx[i * batch : (i + 1) * batch] for i in range(len(idx) // batch)]


def _random_batches(n: int, batch: int, n_batches: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.choice(n, size=min(batch, n), replace=False) for _ in range(n_batches)]


def train_embedding(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    kind: str,
    iterations: int,
    lr: float,
    per_class: int,
    classes_per_batch: int,
    seed: int,
    checkpoint: str | Path,
    device="cpu",
    checkpoint_every: int = 20,
    min_crop: float = 0.8,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """``kind`` is 'dml' (multi-similarity) or 'ce' (cross-entropy baseline)."""
    device = torch.device(device)
    model = model.to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    labels = np.asarray(labels, int)
    if kind == "dml":
        loss_fn = losses.MultiSimilarityLoss(alpha=2, beta=20, base=0.5)
        miner = miners.MultiSimilarityMiner(epsilon=0.1)
    else:
        counts = np.bincount(labels).astype(float)
        weight = torch.tensor(
            len(labels) / (len(counts) * np.maximum(counts, 1)), dtype=torch.float32
        )
        ce = torch.nn.CrossEntropyLoss(weight=weight.to(device))
    fingerprint = (
        f"{kind}|{type(model).__name__}|{lr}|{per_class}|{classes_per_batch}|{seed}|{len(images)}"
    )
    state = resume(checkpoint, fingerprint, model, opt, device)
    history: list[dict] = history_from_state(state) if state else []
    done = int(state["iterations"]) if state else 0
    if state:
        log.info("resuming %s at iteration %d", kind, done)
    batch = per_class * classes_per_batch
    bar = tqdm(total=iterations, initial=done, desc=f"{kind} iterations", mininterval=5)
    while done < iterations:
        chunk = done // checkpoint_every
        n = min(checkpoint_every, iterations - done)
        seed_everything(seed * 1000 + chunk)
        gen = torch.Generator().manual_seed(seed * 1000 + chunk)
        if kind == "dml":
            batches = class_balanced_batches(
                labels, per_class, classes_per_batch, n, seed * 1000 + chunk
            )
        else:
            batches = _random_batches(len(images), batch, n, seed * 1000 + chunk)
        model.train()
        t0 = time.perf_counter()
        for idx in batches:
            x = prepare(torch.from_numpy(np.asarray(images[idx]))).to(device)
            x = random_crop(x, min_crop, generator=gen)
            y = torch.from_numpy(labels[idx]).to(device)
            if kind == "dml":
                emb = model(x)
                loss = loss_fn(emb, y, miner(emb, y))
            else:
                loss = ce(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            history.append(
                {
                    "iteration": done,
                    "loss": float(loss.detach()),
                    "seconds": time.perf_counter() - t0,
                }
            )
            t0 = time.perf_counter()
            bar.update(1)
        save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "iterations": done,
                "fingerprint": fingerprint,
                "history": history_to_state(history),
            },
            checkpoint,
        )
    bar.close()
    return model, pd.DataFrame(history)


@torch.inference_mode()
def embed_all(model, images: np.ndarray, batch_size: int, device, with_mask: bool = False):
    """(embeddings, 2048-d features[, attention masks]) of uint8 images, whole image, eval mode."""
    model = model.to(device).eval()
    embs, feats, masks = [], [], []
    for i in tqdm(range(0, len(images), batch_size), desc="embed", mininterval=5):
        # np.array copies the batch: slices of a read-only memmap cannot back a tensor
        x = prepare(torch.from_numpy(np.array(images[i : i + batch_size]))).to(device)
        if hasattr(model, "features_and_mask"):
            f, m = model.features_and_mask(x)
            e = torch.nn.functional.normalize(model.head(f), dim=1)
            if with_mask and m is not None:
                masks.append(m.squeeze(1).float().cpu().numpy())
        else:
            f = model.features(x)
            e = f
        embs.append(e.float().cpu().numpy())
        feats.append(f.float().cpu().numpy())
    out = (np.concatenate(embs), np.concatenate(feats))
    if with_mask:
        return (*out, np.concatenate(masks) if masks else None)
    return out
