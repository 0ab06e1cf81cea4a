"""Retrieval by embedding: penultimate features of a trained network (ranking: retrieval.py)."""

from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from .models.densenet import prepare


@torch.inference_mode()
def compute_embeddings(model, inputs: np.ndarray, batch_size: int, device) -> np.ndarray:
    """(N, D) float32 embeddings of uint8 images or float maps (N, H, W)."""
    model = model.to(device).eval().to(memory_format=torch.channels_last)
    out = []
    for i in tqdm(range(0, len(inputs), batch_size), desc="embed", mininterval=5):
        x = prepare(torch.from_numpy(np.array(inputs[i : i + batch_size]))).to(device)
        out.append(model.embed(x).float().cpu().numpy())
    dim = getattr(model, "embedding_dim", 0)
    return np.concatenate(out) if out else np.zeros((0, dim), np.float32)
