"""Exact nearest-neighbour index over every embedded image of a run (one per model).

Search is exhaustive (no approximation), so the top-k equals that of a full sort of
distances. Two backends give the same neighbours: faiss ``IndexFlatL2`` (faiss-cpu)
and a blocked torch matmul (``|q|^2 - 2 q.x + |x|^2``, then ``topk``).
``bench/bench_index.py`` on this project's 2-core machine: at 377k x 1024 the torch
matmul took 8.0 ms per query (64 per batch) against faiss's 28.4 ms (78 vs 95 ms for a
single query), while at 20k x 64 faiss took 0.04 ms against torch's 0.08 ms. So
``auto`` takes faiss for small indexes (fewer than ``FAISS_MAX_ELEMENTS`` floats) and
the torch matmul for large ones.
Cosine distance (the CE baseline) is served as L2 on unit vectors (same order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cxr_cbir.errors import InputError
from cxr_cbir.run.shards import save_arrays

if TYPE_CHECKING:  # torch is imported where the torch backend runs: building a small
    import torch  # index (faiss) or the table then needs no torch import (~4 s a job)

METRICS = ("l2", "cosine")
FAISS_MAX_ELEMENTS = 4_000_000  # n x dim below which faiss beat the torch matmul here


def _faiss():
    """faiss, imported where the faiss backend runs (faiss-cpu is a dependency)."""
    import faiss

    return faiss


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)


def torch_topk(
    base: torch.Tensor, base_sq: torch.Tensor, queries: np.ndarray, k: int, block: int = 65536
):
    """Exact top-k squared L2 distances by blocked matmul; returns (dist, idx) arrays."""
    import torch

    q = torch.from_numpy(np.ascontiguousarray(queries, np.float32))
    q_sq = (q * q).sum(1, keepdim=True)
    best_d = torch.full((len(q), 0), float("inf"))
    best_i = torch.zeros((len(q), 0), dtype=torch.long)
    for start in range(0, len(base), block):
        chunk = base[start : start + block]
        d = q_sq - 2.0 * (q @ chunk.T) + base_sq[start : start + block]
        kk = min(k, d.shape[1])
        d_top, i_top = torch.topk(d, kk, dim=1, largest=False)
        best_d = torch.cat([best_d, d_top], 1)
        best_i = torch.cat([best_i, i_top + start], 1)
        if best_d.shape[1] > k:
            best_d, order = torch.topk(best_d, k, dim=1, largest=False)
            best_i = torch.gather(best_i, 1, order)
    order = torch.argsort(best_d, dim=1, stable=True)
    best_d = torch.gather(best_d, 1, order).clamp(min=0)
    best_i = torch.gather(best_i, 1, order)
    return best_d.numpy(), best_i.numpy()


@dataclass
class EmbeddingIndex:
    """Vectors (N, D) with their image ids; ``search`` returns distances and ids."""

    ids: np.ndarray
    vectors: np.ndarray
    metric: str = "l2"
    backend: str = "auto"

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise InputError(f"index metric {self.metric!r}: use one of {METRICS}")
        self.vectors = np.ascontiguousarray(self.vectors, np.float32)
        if self.metric == "cosine":
            self.vectors = _unit(self.vectors)
        if len(self.ids) != len(self.vectors):
            raise InputError(f"index: {len(self.ids)} ids for {len(self.vectors)} vectors")
        if self.backend == "auto":
            small = self.vectors.size < FAISS_MAX_ELEMENTS
            self.backend = "faiss" if small else "torch"
        if self.backend == "faiss":
            faiss = _faiss()
            self._faiss = faiss.IndexFlatL2(self.vectors.shape[1])
            self._faiss.add(self.vectors)
        elif self.backend == "torch":
            import torch

            self._base = torch.from_numpy(self.vectors)
            self._base_sq = (self._base * self._base).sum(1)
        else:
            raise InputError(f"index backend {self.backend!r}: use auto, faiss or torch")

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, queries: np.ndarray, k: int):
        """(distances, ids) of the ``k`` nearest, each (Q, k), nearest first (L2, not squared;
        cosine distance for a cosine index)."""
        q = np.atleast_2d(np.asarray(queries, np.float32))
        if q.shape[1] != self.vectors.shape[1]:
            raise InputError(
                f"query has {q.shape[1]} dimensions, the index {self.vectors.shape[1]}"
            )
        if self.metric == "cosine":
            q = _unit(q)
        k = min(k, len(self))
        if self.backend == "faiss":
            d2, idx = self._faiss.search(np.ascontiguousarray(q), k)
        else:
            d2, idx = torch_topk(self._base, self._base_sq, q, k)
        d2 = np.clip(d2, 0, None)
        dist = d2 / 2.0 if self.metric == "cosine" else np.sqrt(d2)
        return dist, self.ids[idx]

    def save(self, path: str) -> None:
        save_arrays(path, ids=self.ids.astype(str), vectors=self.vectors, metric=self.metric)

    @classmethod
    def load(cls, path: str, backend: str = "auto") -> EmbeddingIndex:
        with np.load(path) as z:
            return cls(z["ids"], z["vectors"], str(z["metric"]), backend)


def index_table(source: pd.DataFrame, ids, columns) -> pd.DataFrame:
    """What a query prints beside each neighbour, in index order: the ``columns`` of
    ``source`` that exist (label, split, path, clinical fields; blank where unknown)."""
    keep = [
        "image_id",
        *[c for c in dict.fromkeys(columns) if c in source.columns and c != "image_id"],
    ]
    table = source[keep].drop_duplicates("image_id").set_index("image_id")
    missing = [i for i in ids if i not in table.index]
    if missing:
        raise InputError(f"index: {len(missing)} embedded images have no row, e.g. {missing[0]}")
    return table.loc[list(ids)].reset_index()
