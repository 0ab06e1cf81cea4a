"""Decode + resize of full-size films: the cache's path (PIL draft mode) against naive PIL.

Prints images/s for both and their ratio (goal >= 1.5x). Films are synthetic phantoms
written at MIMIC-CXR-JPG's typical size (about 2500 x 3000 px, JPEG q95).

    .venv/bin/python bench/bench_decode.py [--n 20] [--size 128]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from cxr_cbir.data.demo.phantom import Finding, Patient, Pose, render
from cxr_cbir.preprocess.decode import load_resized


def naive(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L").resize((size, size), Image.Resampling.BILINEAR))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--size", type=int, default=128)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        small = render(500, 420, "PA", Patient.sample(rng), Finding(), Pose.sample(rng), rng)
        big = Image.fromarray((small.image * 255).astype(np.uint8)).resize((2539, 3050))
        for i in range(args.n):
            p = Path(tmp) / f"{i}.jpg"
            big.save(p, quality=95)
            paths.append(p)
        results = {}
        for name, fn in (("naive PIL", naive), ("cache (draft)", load_resized)):
            fn(paths[0], args.size)  # warm-up
            t = time.perf_counter()
            for p in paths:
                fn(p, args.size)
            results[name] = args.n / (time.perf_counter() - t)
            print(f"{name:>14}: {results[name]:7.1f} images/s")
    print(
        f"ratio cache / naive: {results['cache (draft)'] / results['naive PIL']:.2f}x (goal >= 1.5)"
    )


if __name__ == "__main__":
    main()
