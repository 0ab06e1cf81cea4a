"""Training images/s of the model zoo, per precision, through the training engine's path.

Each (model, precision) runs in a fresh process (several configurations in one process
gave erratic figures on this machine): a few warm-up steps, then timed steps of the
real task loss (augmentation, forward, backward, optimizer step) on random uint8 films.
Prints images/s and the ratio of each mixed precision to fp32. On a machine with CUDA
the same command reports the GPU figures (device chosen as the workflow does).

    .venv/bin/python bench/bench_train.py [--size 128] [--batch 32] [--steps 4]
        [--models cnn att dml ce unet] [--amp none bf16] [--threads 2]
        [--members Unet:efficientnet-b0 Unet:resnet18]

``unet`` is the default segmentation member (Unet, efficientnet-b0); ``--members``
adds any ``Arch:encoder`` pair, to compare encoders' CPU cost before choosing a config.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import torch

MODELS = ("cnn", "att", "dml", "ce", "unet")


def _task(kind: str, size: int, batch: int, device):
    from cxr_cbir import models
    from cxr_cbir.segmentation.members import build_member
    from cxr_cbir.training.classifier import ClassifierTask
    from cxr_cbir.training.lung_members import MemberTask
    from cxr_cbir.training.metric_learning import EmbeddingTask

    rng = np.random.default_rng(0)
    n = batch * 2
    images = rng.integers(0, 255, (n, size, size), dtype=np.uint8)
    labels = np.arange(n) % (2 if kind in ("cnn", "att") else 3)
    if kind in ("cnn", "att"):
        model = models.build(kind).to(device).to(memory_format=torch.channels_last)
        task = ClassifierTask(
            model,
            images,
            labels,
            images[:2],
            labels[:2],
            batch,
            device,
        )
    elif kind in ("dml", "ce"):
        model = models.build(kind, {"classes": [0, 1, 2]}).to(device)
        model = model.to(memory_format=torch.channels_last)
        settings = {
            "iterations": 1000,
            "checkpoint_every": 1000,
            "per_class": batch // 3,
            "classes_per_batch": 3,
        }
        task = EmbeddingTask(model, kind, images, labels, images[:2], labels[:2], settings, device)
    else:
        arch, encoder = kind.split(":") if ":" in kind else ("Unet", "efficientnet-b0")
        model = build_member(arch, encoder).to(device)
        masks = (images > 127).astype(np.uint8)
        task = MemberTask(model, images, masks, images[:2], masks[:2], batch, device)
    return model, task


def one(kind: str, size: int, batch: int, steps: int, amp: str, threads: int) -> dict:
    from cxr_cbir.torch_utils import pick_device
    from cxr_cbir.training.engine import grad_scaler, train_step

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    device = pick_device()
    model, task = _task(kind, size, batch, device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    batches = task.batches(0, gen)
    model.train()

    scaler = grad_scaler(device, amp)

    def step():  # the engine's own step (loss scaling included), on one loaded batch
        train_step(task, task.load(batches[0]), gen, opt, scaler, device, amp)
        if device.type == "cuda":
            torch.cuda.synchronize()

    step()
    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - t
    n = len(batches[0][0]) if isinstance(batches[0], tuple) else len(batches[0])
    return {"model": kind, "amp": amp, "device": device.type, "img_s": n * steps / seconds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--members", nargs="*", default=[], help="extra Arch:encoder members")
    ap.add_argument("--amp", nargs="+", default=["none", "bf16"], choices=["none", "bf16", "fp16"])
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        kind, amp = args.one.rsplit(":", 1)
        print(json.dumps(one(kind, args.size, args.batch, args.steps, amp, args.threads)))
        return
    rows = []
    for kind in [*args.models, *args.members]:
        for amp in args.amp:
            cmd = [
                sys.executable,
                __file__,
                "--one",
                f"{kind}:{amp}",
                "--size",
                str(args.size),
                "--batch",
                str(args.batch),
                "--steps",
                str(args.steps),
                "--threads",
                str(args.threads),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(
                f"{r['model']:>5} {r['amp']:>5} on {r['device']}: {r['img_s']:7.1f} training "
                f"images/s ({args.size} px, batch {args.batch})",
                flush=True,
            )
    base = {r["model"]: r["img_s"] for r in rows if r["amp"] == "none"}
    for r in rows:
        if r["amp"] != "none" and r["model"] in base:
            print(f"ratio {r['model']} {r['amp']} / fp32: {r['img_s'] / base[r['model']]:.2f}")


if __name__ == "__main__":
    main()
