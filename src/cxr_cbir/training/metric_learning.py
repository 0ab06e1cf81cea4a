"""Train the metric-learning embedding (Zhong et al.) and its cross-entropy baseline.

Metric model: multi-similarity loss (lambda = base = 0.5, alpha = 2, beta = 20) with its
hard-pair miner, on T x N class-balanced batches (T classes, N films each; paper 3 x 16)
drawn by pytorch-metric-learning's ``MPerClassSampler``; Adam. Baseline: the same
ResNet-50 trained with (class-weighted) cross-entropy on random batches of the same
size for the same number of iterations. Both: random crops in training, the whole image
at test. On the training engine, an epoch is a chunk of ``checkpoint_every`` iterations,
reseeded from (seed, chunk), validated leave-one-out over the validation films and
checkpointed, so a killed job resumes to the same weights. Validation reports recall@1
and precision@10 (the share of same-class films among each film's 10 nearest); the kept
weights are those of the best ``monitor``. Precision@10 is the default: on the real
films' 237 validation films recall@1 moved by +-0.05 between checkpoints while test
recall@1 rose steadily (dml, 240 iterations: validation recall@1 0.41-0.51 in no order,
precision@10 0.43 -> 0.48, test recall@1 0.46 -> 0.53), so patience on recall@1 stopped
the dml at iteration 40 of 100 (test recall@1 0.40).

With ``severity`` (``SeverityAux``, weight > 0), a linear head on the retrieval vector
(dml: the embedding; ce: the pooled features) also regresses the graded scores, added to
the loss times its weight (``severity_head``); validation reports ``severity_r``. Every
film of the covid catalogues has COVID-19, so a vector trained only on the three classes
ranks them at chance. The head is dropped after training.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pytorch_metric_learning import losses, miners, samplers

from cxr_cbir.errors import InputError
from cxr_cbir.models.inputs import prepare
from cxr_cbir.models.predict import embed_all
from cxr_cbir.retrieval.distances import pairwise_distances
from cxr_cbir.training.augment import random_crop
from cxr_cbir.training.engine import Budget, batch_loader, fit, to_device
from cxr_cbir.training.severity_head import SeverityAux, attach_head, detach_head, head_r
from cxr_cbir.training.targets import masked_mse

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


MONITORS = ("precision_at_10", "recall_at_1")
# random crops of at least this fraction of each side in training (the whole film at test)
MIN_CROP = 0.8


def leave_one_out_scores(
    vectors: np.ndarray, labels: np.ndarray, metric: str, k: int = 10
) -> dict[str, float]:
    """Each film against the others: recall@1 and precision@k (mean share of same-class
    films among its ``k`` nearest; k is capped at the number of other films)."""
    labels = np.asarray(labels)
    if len(labels) < 2:
        return {"recall_at_1": float("nan"), f"precision_at_{k}": float("nan")}
    d = pairwise_distances(vectors, vectors, metric)
    np.fill_diagonal(d, np.inf)
    kk = min(k, len(labels) - 1)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :kk]
    same = labels[nearest] == labels[:, None]
    return {"recall_at_1": float(same[:, 0].mean()), f"precision_at_{k}": float(same.mean())}


class EmbeddingTask:
    """Multi-similarity (dml) or cross-entropy (ce) on sampled batches; validation recall@1
    and precision@10 (+ the severity head's r with ``severity``, the model then a
    ``SeverityHeaded``)."""

    def __init__(
        self, model, kind, images, labels, val_images, val_labels, settings, device, severity=None
    ):
        self.model, self.kind, self.device = model, kind, device
        self.images, self.labels = images, np.asarray(labels, int)
        self.val_images, self.val_labels = val_images, np.asarray(val_labels, int)
        self.s = settings
        self.severity = severity
        if severity is not None:
            self.scores, self.scored = severity.standardised()
        if kind == "dml":
            self.loss_fn = losses.MultiSimilarityLoss(alpha=2, beta=20, base=0.5)
            self.miner = miners.MultiSimilarityMiner(epsilon=0.1)
        else:
            counts = np.bincount(self.labels).astype(float)
            weight = len(self.labels) / (len(counts) * np.maximum(counts, 1))
            self.ce = torch.nn.CrossEntropyLoss(
                weight=torch.tensor(weight, dtype=torch.float32).to(device)
            )

    def batches(self, epoch, generator):
        s = self.s
        n = min(s["checkpoint_every"], s["iterations"] - epoch * s["checkpoint_every"])
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        if self.kind == "dml":
            return class_balanced_batches(
                self.labels, s["per_class"], s["classes_per_batch"], n, seed
            )
        return _random_batches(len(self.images), s["per_class"] * s["classes_per_batch"], n, seed)

    def load(self, idx):
        x, y = torch.from_numpy(np.array(self.images[idx])), torch.from_numpy(self.labels[idx])
        if self.severity is None:
            return x, y
        return x, y, self.scores[idx], self.scored[idx]

    def loss(self, batch, generator):
        x, y, *scores = to_device(batch, self.device)
        x = random_crop(prepare(x), MIN_CROP, generator=generator)
        if self.severity is None:
            out = self.model(x).float()
        else:
            out, predicted = self.model.outputs(x)
            out = out.float()
        if self.kind == "dml":
            loss = self.loss_fn(out, y, self.miner(out, y))
        else:
            loss = self.ce(out, y)
        if self.severity is not None:
            loss = loss + self.severity.weight * masked_mse(predicted, *scores)
        return loss

    def validate(self):
        if len(self.val_labels) < 2:
            return {m: float("nan") for m in MONITORS}
        embs, feats = embed_all(
            detach_head(self.model), self.val_images, 32, self.device, progress=False
        )
        vecs, metric = (embs, "l2") if self.kind == "dml" else (feats, "cosine")
        out = leave_one_out_scores(vecs, self.val_labels, metric)
        if self.severity is not None:
            out["severity_r"] = head_r(
                self.model, self.val_images, self.severity.val_scores, 32, self.device
            )
        return out


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
    val_images: np.ndarray | None = None,
    val_labels: np.ndarray | None = None,
    patience: int = 0,
    schedule: str = "constant",
    amp: str = "none",
    workers: int = 0,
    init: str = "random",
    monitor: str = "precision_at_10",
    severity: SeverityAux | None = None,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """``kind`` is 'dml' (multi-similarity) or 'ce' (cross-entropy baseline).

    An epoch of the engine is ``checkpoint_every`` iterations; the kept weights are those
    of the best validation ``monitor`` (``MONITORS``; leave-one-out over the validation
    films, with the distance retrieval uses: L2 on dml embeddings, cosine on ce
    features). The history names it in its ``monitor`` column. ``init`` names
    the starting weights (part of the checkpoint fingerprint, so a checkpoint of another
    start is never resumed). ``severity`` (weight > 0): trained with an auxiliary
    severity head, which the returned model no longer carries.
    """
    if kind not in ("dml", "ce"):
        raise InputError(f"unknown metric model {kind!r}; use 'dml' or 'ce'")
    if monitor not in MONITORS:
        raise InputError(f"unknown metric monitor {monitor!r}; use one of {list(MONITORS)}")
    device = torch.device(device)
    net = model
    model, severity = attach_head(net, severity)
    model = model.to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    if val_images is None:
        val_images, val_labels = images[:0], np.zeros(0, int)
    settings = {
        "iterations": iterations,
        "checkpoint_every": checkpoint_every,
        "per_class": per_class,
        "classes_per_batch": classes_per_batch,
    }
    task = EmbeddingTask(
        model, kind, images, labels, val_images, val_labels, settings, device, severity
    )
    fingerprint = (
        f"{kind}|{type(net).__name__}|{lr}|{per_class}|{classes_per_batch}|{seed}|"
        f"{len(images)}|{checkpoint_every}|{init}|{monitor}"
    )
    if severity is not None:
        fingerprint += severity.fingerprint
    budget = Budget(
        epochs=-(-iterations // checkpoint_every), patience=patience, schedule=schedule, amp=amp
    )
    model, history = fit(
        model,
        opt,
        task,
        budget,
        monitor=monitor,
        mode="max",
        seed=seed,
        checkpoint=checkpoint,
        fingerprint=fingerprint,
        device=device,
        loader=batch_loader(task.load, device, workers),
        desc=f"{kind} chunk",
    )
    history.insert(1, "iteration", np.minimum(history["epoch"] * checkpoint_every, iterations))
    history["monitor"] = monitor
    return detach_head(model), history
