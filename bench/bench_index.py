"""Top-10 search over 377k x 1024 float32 (MIMIC-CXR-JPG's film count, DenseNet's width).

Side by side in one process, on the same base and queries: our EmbeddingIndex with each
backend (faiss IndexFlatL2 and a blocked torch matmul) against bare faiss IndexFlatL2.
Prints ms per query (queries batched) and the ratio to faiss (goals: <= 50 ms, <= 1.1x).

    .venv/bin/python bench/bench_index.py [--n 377110] [--dim 1024] [--queries 64]
"""

from __future__ import annotations

import argparse

import faiss
import numpy as np
import torch
from timing import best_time

from cxr_cbir.retrieval.index import FAISS_MAX_ELEMENTS, EmbeddingIndex


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=377_110)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--queries", type=int, default=64)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"threads: torch {torch.get_num_threads()}, faiss {faiss.omp_get_max_threads()}")
    rng = np.random.default_rng(0)
    base = rng.standard_normal((args.n, args.dim), dtype=np.float32)
    queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    ids = np.arange(args.n).astype(str)

    flat = faiss.IndexFlatL2(args.dim)
    flat.add(base)
    t_faiss = best_time(lambda: flat.search(queries, args.k), args.repeats)
    _, want = flat.search(queries, args.k)
    rows = [("faiss IndexFlatL2 (bare)", t_faiss)]
    for backend in ("faiss", "torch"):
        index = EmbeddingIndex(ids, base, "l2", backend)
        t = best_time(lambda index=index: index.search(queries, args.k), args.repeats)
        got = index.search(queries, args.k)[1].astype(int)
        agree = np.mean([len(set(a) & set(b)) / args.k for a, b in zip(got, want, strict=True)])
        rows.append((f"EmbeddingIndex[{backend}] (top-{args.k} agreement {agree:.3f})", t))
        del index
    print(f"{args.n} x {args.dim} float32, {args.queries} queries per batch, top-{args.k}")
    auto = "faiss" if base.size < FAISS_MAX_ELEMENTS else "torch"
    print(f"  the workflow's index (backend auto) uses {auto} at this size")
    for name, t in rows:
        per_q = 1000 * t / args.queries
        print(f"  {name:48s} {per_q:8.2f} ms/query  ratio to faiss {t / t_faiss:5.2f}x")


if __name__ == "__main__":
    main()
