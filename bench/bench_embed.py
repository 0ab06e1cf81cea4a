"""Embedding extraction (the workflow's path: uint8 cache -> batches -> DenseNet-121
penultimate features -> numpy) against the bare model forward on ready tensors.

Same image size, batch and threads, in one process; prints images/s and the ratio
(goal >= 0.9).

    .venv/bin/python bench/bench_embed.py [--n 256] [--size 128] [--batch 32]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from timing import best_time

from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.models.inputs import prepare
from cxr_cbir.models.predict import compute_embeddings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = DenseNetClassifier().eval().to(memory_format=torch.channels_last)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (args.n, args.size, args.size), dtype=np.uint8)
    batches = [
        prepare(torch.from_numpy(images[i : i + args.batch])) for i in range(0, args.n, args.batch)
    ]

    @torch.inference_mode()
    def bare():
        for x in batches:
            model.embed(x)

    def pipeline():
        compute_embeddings(model, images, args.batch, "cpu")

    rates = {}
    for name, fn in (("bare forward", bare), ("embedding extraction", pipeline)):
        rates[name] = args.n / best_time(fn, args.repeats)
        print(f"{name:>22}: {rates[name]:7.1f} images/s ({args.size} px, batch {args.batch})")
    ratio = rates["embedding extraction"] / rates["bare forward"]
    print(f"ratio extraction / bare forward: {ratio:.3f} (goal >= 0.9)")


if __name__ == "__main__":
    main()
