"""Retrieval by embedding: penultimate features of a trained network, L2 ranking in a catalogue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from .models.densenet import prepare
from .retrieval import rank_scores


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


def rank_by_distance(
    catalogues: pd.DataFrame, ids, vectors: np.ndarray, metric: str = "l2"
) -> pd.DataFrame:
    """Rank every catalogue by distance of embeddings to the query's (L2 or cosine)."""
    row = {i: k for k, i in enumerate(ids)}
    vec = np.asarray(vectors, np.float64)
    if metric == "cosine":
        vec = vec / np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)
    parts = []
    for qid, g in catalogues.groupby("query_id", sort=False):
        cand = g["image_id"].tolist()
        q = vec[row[qid]]
        c = vec[[row[i] for i in cand]]
        if metric == "cosine":
            dist = 1.0 - c @ q
        else:
            dist = np.linalg.norm(c - q, axis=1)
        parts.append(rank_scores(qid, cand, dist, higher_is_better=False))
    return pd.concat(parts, ignore_index=True)
