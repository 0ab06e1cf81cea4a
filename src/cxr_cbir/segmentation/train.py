"""Train one ensemble member, resumable from its per-epoch checkpoint.

Augmentation follows Zhong et al. with albumentations (flip, Gaussian noise,
perspective, sharpen, blur, contrast, gamma, brightness, CLAHE, grid distortion,
affine, elastic). Adam, Dice + BCE loss. Each epoch reseeds from (seed, epoch), so a
run killed after epoch e and resumed ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pandas as pd
import segmentation_models_pytorch as smp
import torch
from torch.optim.swa_utils import update_bn
from tqdm import tqdm

from ..torch_utils import (
    history_from_state,
    history_to_state,
    resume,
    save_checkpoint,
    seed_everything,
)
from .members import build_member

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


def _batches(n: int, batch: int, rng: np.random.Generator, shuffle: bool):
    order = rng.permutation(n) if shuffle else np.arange(n)
    for i in range(0, n, batch):
        yield order[i : i + batch]


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def train_member(
    arch: str,
    encoder: str,
    images: np.ndarray,
    masks: np.ndarray,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    checkpoint: str | Path,
    weights: str | None = None,
    device: torch.device | str = "cpu",
    max_steps: int | None = None,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Train on uint8 ``images`` / {0,1} ``masks`` (N, S, S); returns (model, history)."""
    device = torch.device(device)
    seed_everything(seed)
    model = build_member(arch, encoder, weights).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    dice_loss = smp.losses.DiceLoss(mode="binary", from_logits=True)
    bce = torch.nn.BCEWithLogitsLoss()
    fingerprint = f"{arch}|{encoder}|{batch_size}|{lr}|{seed}|{len(images)}|{weights}"
    state = resume(checkpoint, fingerprint, model, opt, device)
    history: list[dict] = history_from_state(state) if state else []
    start = int(state["epoch"]) + 1 if state else 0
    if state:
        log.info("resuming %s/%s from epoch %d", arch, encoder, start + 1)
    steps = 0
    for epoch in range(start, epochs):
        seed_everything(seed * 1000 + epoch)
        rng = np.random.default_rng(seed * 1000 + epoch)
        aug = augmentation(seed * 1000 + epoch)
        model.train()
        t0, losses = time.perf_counter(), []
        bar = tqdm(
            list(_batches(len(images), batch_size, rng, True)),
            desc=f"{arch}/{encoder} epoch {epoch + 1}/{epochs}",
            mininterval=5,
        )
        for idx in bar:
            xs, ys = [], []
            for i in idx:
                out = aug(image=images[i], mask=masks[i])
                xs.append(out["image"])
                ys.append(out["mask"])
            x = _to_tensor(np.stack(xs)).to(device)
            y = torch.from_numpy(np.stack(ys).astype(np.float32)).unsqueeze(1).to(device)
            logits = model(x)
            loss = dice_loss(logits, y) + bce(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            steps += 1
            if max_steps and steps >= max_steps:
                break
        seconds = time.perf_counter() - t0
        history.append(
            {
                "epoch": epoch + 1,
                "loss": float(np.mean(losses)),
                "seconds": seconds,
                "images_per_s": len(losses) * batch_size / max(seconds, 1e-9),
            }
        )
        log.info("epoch %d: loss %.4f (%.1f s)", epoch + 1, history[-1]["loss"], seconds)
        save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "fingerprint": fingerprint,
                "history": history_to_state(history),
            },
            checkpoint,
        )
        if max_steps and steps >= max_steps:
            break
    recompute_bn(model, images, batch_size, device)
    return model, pd.DataFrame(history)


def recompute_bn(model: torch.nn.Module, images: np.ndarray, batch_size: int, device) -> None:
    """Re-estimate BatchNorm running statistics on un-augmented training images."""
    loader = [
        _to_tensor(images[i : i + batch_size]).to(device) for i in range(0, len(images), batch_size)
    ]
    update_bn(loader, model, device=device)


@torch.inference_mode()
def predict_probs(
    model: torch.nn.Module, images: np.ndarray, batch_size: int, device
) -> np.ndarray:
    """Sigmoid probabilities (N, S, S) float32, in eval mode."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = _to_tensor(images[i : i + batch_size]).to(device)
        out.append(torch.sigmoid(model(x)).squeeze(1).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, *images.shape[1:]), np.float32)
