"""Inference with trained networks, outside the training code: what the workflow's
embedding and prediction jobs, the members' validation and the query CLI and server all
call, so that a film gives the same numbers wherever it is seen.

``predict``: a classifier's probabilities; ``compute_embeddings``: a classifier's
penultimate features (the Silva et al. retrieval vectors); ``embed_all``: a metric
model's L2-normalised embeddings, its 2048-d features and attention masks.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from cxr_cbir.models.inputs import prepare


@torch.inference_mode()
def predict(model, inputs: np.ndarray, batch_size: int, device) -> np.ndarray:
    """(N,) float32 probabilities of a binary classifier for uint8 images or float maps."""
    model.eval()
    out = []
    for i in range(0, len(inputs), batch_size):
        x = prepare(torch.from_numpy(np.array(inputs[i : i + batch_size]))).to(device)
        out.append(torch.sigmoid(model(x).float()).squeeze(1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


@torch.inference_mode()
def compute_embeddings(
    model, inputs: np.ndarray, batch_size: int, device, progress: bool = True
) -> np.ndarray:
    """(N, D) float32 embeddings of uint8 images or float maps (N, H, W)."""
    model = model.to(device).eval().to(memory_format=torch.channels_last)
    out = []
    steps = range(0, len(inputs), batch_size)
    for i in tqdm(steps, desc="embed", mininterval=5, disable=not progress):
        x = prepare(torch.from_numpy(np.array(inputs[i : i + batch_size]))).to(device)
        out.append(model.embed(x).float().cpu().numpy())
    dim = getattr(model, "embedding_dim", 0)
    return np.concatenate(out) if out else np.zeros((0, dim), np.float32)


@torch.inference_mode()
def embed_all(
    model, images: np.ndarray, batch_size: int, device, with_mask: bool = False, progress=True
):
    """(embeddings, 2048-d features[, attention masks]) of uint8 images, whole image, eval mode."""
    model = model.to(device).eval()
    embs, feats, masks = [], [], []
    steps = range(0, len(images), batch_size)
    for i in tqdm(steps, desc="embed", mininterval=5, disable=not progress):
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
