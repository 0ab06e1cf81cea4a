"""Train one ensemble member, resumable from its per-epoch checkpoint.

Augmentation follows Zhong et al. with albumentations (flip, Gaussian noise,
perspective, sharpen, blur, contrast, gamma, brightness, CLAHE, grid distortion,
affine, elastic), each film with its own seed drawn by the engine's epoch generator.
Adam, Dice + BCE loss, on the training engine: the kept epoch is the one with the best
validation Dice, and a run killed after epoch e and resumed ends with the same weights.
"""

from __future__ import annotations

import logging
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pandas as pd
import segmentation_models_pytorch as smp
import torch
from torch.optim.swa_utils import update_bn

from cxr_cbir.segmentation.inference import predict_probs, to_tensor
from cxr_cbir.segmentation.members import member_outputs
from cxr_cbir.segmentation.postprocess import dice
from cxr_cbir.training.engine import Budget, batch_loader, fit, to_device

log = logging.getLogger(__name__)


def augmentation(seed: int) -> A.Compose:
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.Affine(
                scale=(0.9, 1.1),
                translate_percent=(-0.05, 0.05),
                rotate=(-10, 10),
                border_mode=cv2.BORDER_CONSTANT,
                p=0.5,
            ),
            A.Perspective(scale=(0.02, 0.05), p=0.2),
            A.GridDistortion(p=0.15),
            A.ElasticTransform(alpha=20, sigma=6, p=0.1),
            A.CLAHE(p=0.15),
            A.RandomBrightnessContrast(p=0.3),
            A.RandomGamma(p=0.2),
            A.Sharpen(p=0.1),
            A.Blur(blur_limit=3, p=0.1),
            A.GaussNoise(std_range=(0.01, 0.05), p=0.2),
        ],
        seed=seed,
    )


def mean_dice(probs: np.ndarray, masks: np.ndarray, threshold: float = 0.5) -> float:
    """Mean over films of the Dice of ``probs >= threshold`` with the {0,1} ``masks``."""
    return float(np.mean([dice(p >= threshold, m) for p, m in zip(probs, masks, strict=True)]))


class MemberTask:
    """Dice + BCE on augmented batches; validation Dice of the held-in validation pairs.

    ``heads`` / ``val_heads`` (one int per film): the output each film's mask trains and
    validates (its lung convention) when a member learns both conventions; None: one.
    ``bn_films``: the BatchNorm statistics are re-estimated on that many training films
    (a fixed random subset; 0: all).
    """

    def __init__(
        self,
        model,
        images,
        masks,
        val_images,
        val_masks,
        batch_size,
        device,
        heads=None,
        val_heads=None,
        bn_films: int = 0,
        seed: int = 0,
    ):
        self.model, self.device, self.batch_size = model, device, batch_size
        self.images, self.masks = images, masks
        self.bn_images = bn_subset(images, bn_films, seed)
        self.val_images, self.val_masks = val_images, val_masks
        self.heads = np.zeros(len(images), np.int64) if heads is None else np.asarray(heads)
        self.val_heads = 0 if val_heads is None else np.asarray(val_heads)
        self.dice_loss = smp.losses.DiceLoss(mode="binary", from_logits=True)
        self.bce = torch.nn.BCEWithLogitsLoss()
        self.aug = None

    def batches(self, epoch, generator):
        order = torch.randperm(len(self.images), generator=generator).numpy()
        seeds = torch.randint(0, 2**31 - 1, (len(order),), generator=generator).numpy()
        return [(order[b], seeds[b]) for b in _batch_slices(len(order), self.batch_size)]

    def load(self, batch):
        """Augment each film with its own seed: the same batches whatever the workers."""
        idx, seeds = batch
        if self.aug is None:
            self.aug = augmentation(0)
        xs, ys = [], []
        for i, s in zip(idx, seeds, strict=True):
            self.aug.set_random_seed(int(s))
            out = self.aug(image=self.images[i], mask=self.masks[i])
            xs.append(out["image"])
            ys.append(out["mask"])
        x = to_tensor(np.stack(xs))
        y = torch.from_numpy(np.stack(ys).astype(np.float32)).unsqueeze(1)
        return x, y, torch.from_numpy(self.heads[idx].astype(np.int64))

    def loss(self, batch, generator):
        x, y, heads = to_device(batch, self.device)
        logits = self.model(x).float()
        # each film's mask trains only the output of its own lung convention
        index = heads.view(-1, 1, 1, 1).expand(-1, 1, *logits.shape[2:])
        logits = logits.gather(1, index)
        return self.dice_loss(logits, y) + self.bce(logits, y)

    def validate(self):
        # BatchNorm running statistics re-estimated on the un-augmented training films
        # before every validation: after a dozen steps the momentum estimates still sit
        # near their initial values, and validation Dice then read 0.0 for members whose
        # recomputed-BN Dice was 0.78 (demo fpn_b1, which early stopping then kept at
        # epoch 1). The kept epoch's snapshot carries these statistics.
        recompute_bn(self.model, self.bn_images, self.batch_size, self.device)
        probs = predict_probs(
            self.model, self.val_images, self.batch_size, self.device, self.val_heads
        )
        return {"dice": mean_dice(probs, self.val_masks)}


def train_member(
    model: torch.nn.Module,
    member: dict,
    images: np.ndarray,
    masks: np.ndarray,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    checkpoint: str | Path,
    device: torch.device | str = "cpu",
    val_images: np.ndarray | None = None,
    val_masks: np.ndarray | None = None,
    budget: Budget | None = None,
    workers: int = 0,
    heads: np.ndarray | None = None,
    val_heads: np.ndarray | None = None,
    bn_films: int = 0,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Train ``model``, the ``member`` network (``entry.build("lung_member", member)``), on
    uint8 ``images`` / {0,1} ``masks`` (N, S, S); returns (model, history).

    The kept epoch is the one with the best validation Dice (``val_images``; without
    them, the training films themselves, un-augmented). ``budget`` overrides ``epochs``
    with a full training budget (patience, schedule, mixed precision). With more than one
    lung convention in ``member["heads"]``, one output per convention, each film's mask
    training its ``heads`` entry. ``bn_films``: training films the BatchNorm statistics
    are re-estimated on (0: all).
    """
    device = torch.device(device)
    arch, encoder, weights = member["arch"], member["encoder"], member.get("weights")
    n_heads = member_outputs(member)
    model = model.to(device)
    model = model.to(memory_format=torch.channels_last)  # 1.25x images/s on CPU
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    if val_images is None or len(val_images) == 0:
        val_images, val_masks, val_heads = images, masks, heads
    budget = budget or Budget(epochs=epochs)
    task = MemberTask(
        model,
        images,
        masks,
        val_images,
        val_masks,
        batch_size,
        device,
        heads,
        val_heads,
        bn_films=bn_films,
        seed=seed,
    )
    model, history = fit(
        model,
        opt,
        task,
        budget,
        monitor="dice",
        mode="max",
        seed=seed,
        checkpoint=checkpoint,
        fingerprint=f"{arch}|{encoder}|{batch_size}|{lr}|{seed}|{len(images)}|{weights}"
        + (f"|heads={n_heads}" if n_heads > 1 else "")
        + (f"|bn={bn_films}" if bn_films else ""),
        device=device,
        loader=batch_loader(task.load, device, workers),
        desc=f"{arch}/{encoder} epoch",
    )
    return model, history


def _batch_slices(n: int, batch_size: int) -> list[slice]:
    """Batches of ``batch_size`` over ``n`` films; a last batch of one film joins the one
    before it: BatchNorm cannot train on one film (DeepLabV3+'s pooled branch then holds
    one value per channel and raises)."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return [slice(a, b) for a, b in zip(starts, [*starts[1:], n], strict=True)]


def bn_subset(images: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` of ``images`` drawn once with ``seed`` (in their order), or all of them when
    ``n`` is 0 or at least their number (128 of the 513 real training films: the same
    validation Dice, 1.4 s less of a ~90 s epoch at 128 px on one core)."""
    if not n or n >= len(images):
        return images
    keep = np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))
    return images[keep]


def recompute_bn(model: torch.nn.Module, images: np.ndarray, batch_size: int, device) -> None:
    """Re-estimate BatchNorm running statistics on un-augmented training images."""
    loader = [to_tensor(images[b]).to(device) for b in _batch_slices(len(images), batch_size)]
    with torch.no_grad():
        update_bn(loader, model, device=device)
