"""Deep Taylor saliency cost per image divided by one DenseNet-121 training step per image.

The one-pass implementation used by the workflow, and captum's LRP with the same rules.

Both at the same image size and batch, in this one process (goal: ratio <= 2).

    .venv/bin/python bench/bench_saliency.py [--size 128] [--batch 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.models.inputs import prepare
from cxr_cbir.models.saliency import deep_taylor, deep_taylor_fast


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = DenseNetClassifier().to(memory_format=torch.channels_last)
    x = prepare(torch.randint(0, 255, (args.batch, args.size, args.size), dtype=torch.uint8))
    y = torch.randint(0, 2, (args.batch,)).float()
    opt = torch.optim.Adam(model.parameters(), 1e-4)

    def step():
        model.train()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x).squeeze(1), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    timings = {}
    runs = (
        ("training step", step),
        ("deep taylor", lambda: deep_taylor_fast(model, x)),
        ("captum LRP", lambda: deep_taylor(model, x)),
    )
    for name, fn in runs:
        fn()  # warm-up
        t = time.perf_counter()
        for _ in range(args.repeats):
            fn()
        timings[name] = (time.perf_counter() - t) / (args.repeats * args.batch)
        ms = timings[name] * 1000
        print(f"{name:>14}: {ms:7.1f} ms per image ({args.size} px, batch {args.batch})")
    ratio = timings["deep taylor"] / timings["training step"]
    print(f"ratio deep taylor (one pass) / training step: {ratio:.2f} (goal <= 2)")
    ratio = timings["captum LRP"] / timings["training step"]
    print(f"ratio captum LRP (same rules) / training step: {ratio:.2f}")


if __name__ == "__main__":
    main()
