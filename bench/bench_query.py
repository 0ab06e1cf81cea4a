"""Query throughput: films/s for a folder of 100 films in one call, and warm latency per film.

The full path of ``cxr-cbir query`` / ``serve`` (``QueryEngine.query``): decode, lung
segmentation by the five-member ensemble, crop+mask, resize, embed, exact search, the
neighbours' table, images and overlays. Two set-ups, each in this process:

* ``--size 128`` (default): a synthetic run at 128 px built in a temporary folder, with
  the demo config's five segmentation members and the cnn / dml networks at random
  weights (speed does not depend on the weights), an index of 2,000 films and 100
  phantom films of 288-352 px to query;
* ``--run NAME``: a finished run under ``results/NAME`` and 100 of its archive films.

Prints, per model: cold (first query, networks loading), warm latency per film (median
of 10 single-film queries), and films/s for the 100-film batch. Goal: <= 1 s per film warm
on 2 cores at 128 px for cnn and dml, segmentation included.

    .venv/bin/python bench/bench_query.py [--size 128] [--run demo] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from PIL import Image

from cxr_cbir.app.query import QueryEngine
from cxr_cbir.io_utils import write_npy, write_parquet
from cxr_cbir.retrieval.index import EmbeddingIndex
from cxr_cbir.torch_utils import save_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def synthetic_run(work: Path, size: int, n_index: int = 2000, n_films: int = 100) -> list[Path]:
    """A run folder under ``work`` at ``size`` px with random-weight networks; the films."""
    from cxr_cbir import models
    from cxr_cbir.data.demo.phantom import Finding, Patient, Pose, render
    from cxr_cbir.segmentation.members import build_member

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    out = work / "results" / "bench"
    members = {}
    for name, m in config["segmentation"]["members"].items():
        path = out / "segmentation" / "members" / name / "model.pt"
        save_checkpoint(build_member(m["arch"], m["encoder"]).state_dict(), path)
        members[name] = {**m, "model": str(path.relative_to(work))}
    torch.manual_seed(0)
    save_checkpoint(models.build("cnn").state_dict(), out / "models/effusion/cnn/model.pt")
    metric = {
        "classes": ["normal", "effusion", "pneumonia"],
        "embedding_dim": 64,
        "attention": True,
    }
    save_checkpoint(models.build("dml", metric).state_dict(), out / "models/metric/dml/model.pt")
    rng = np.random.default_rng(0)
    ids = [f"img{i:05d}" for i in range(n_index)]
    table = pd.DataFrame({"image_id": ids, "path": "", "split": "train", "label": 0})
    for scope, model, dim in (("effusion", "cnn", 1024), ("metric", "dml", 64)):
        vectors = rng.normal(size=(n_index, dim)).astype(np.float32)
        EmbeddingIndex(np.array(ids), vectors).save(str(out / "index" / scope / f"{model}.npz"))
        write_parquet(table, out / "index" / scope / f"{model}.parquet")
    write_npy(rng.integers(0, 255, (n_index, size, size), dtype=np.uint8), out / "cache/images.npy")
    write_parquet(
        pd.DataFrame({"image_id": ids, "row": range(n_index)}), out / "cache/index.parquet"
    )
    settings = {
        "run": "bench",
        "root": "films",
        "image_size": size,
        "lung_mask": "crop+mask",
        "segmentation": {"image_size": size, "threshold": 0.5, "members": members},
        "cache_images": "results/bench/cache/images.npy",
        "cache_index": "results/bench/cache/index.parquet",
        "conditions": ["effusion"],
        "condition_methods": ["cnn"],
        "condition_models": ["cnn"],
        "saliency_method": "deep_taylor",
        "metric_methods": ["dml"],
        "metric_model": metric,
        "metric_label": "finding",
        "out": "results/bench",
    }
    (out / "index" / "settings.json").write_text(json.dumps(settings))
    films = []
    (work / "films").mkdir()
    for i in range(n_films):
        rows, cols = (int(v) for v in rng.integers(288, 352, 2))
        f = Finding(effusion=float(rng.uniform(0, 1)), effusion_side="right")
        ph = render(rows, cols, "PA", Patient.sample(rng), f, Pose.sample(rng), rng)
        path = work / "films" / f"film{i:03d}.jpg"
        Image.fromarray((ph.image * 255).round().astype(np.uint8)).save(path, quality=92)
        films.append(path)
    return films


def run_films(workdir: Path, run: str, n: int) -> list[Path]:
    engine = QueryEngine(run, workdir)
    table = pd.read_parquet(workdir / engine.layout.index_table("metric", "dml"))
    root = workdir / engine.settings["root"]
    return [root / p for p in table["path"].iloc[:n]]


def measure(workdir: Path, run: str, films: list[Path], model: str, condition: str | None):
    engine = QueryEngine(run, workdir)
    t = time.perf_counter()
    engine.query(films[:1], model, 4, condition)
    cold = time.perf_counter() - t
    warm = []
    for film in films[1:11]:
        t = time.perf_counter()
        results, failed = engine.query([film], model, 4, condition)
        warm.append(time.perf_counter() - t)
        assert not failed and len(results) == 1
    t = time.perf_counter()
    results, failed = engine.query(films, model, 4, condition)
    batch = time.perf_counter() - t
    assert not failed and len(results) == len(films)
    return cold, statistics.median(warm), len(films) / batch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--run", help="a finished run under results/ instead of the synthetic one")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        if args.run:
            workdir, run, films = ROOT, args.run, run_films(ROOT, args.run, args.n)
            settings = QueryEngine(run, workdir).settings
            condition, what = settings["conditions"][0], f"run {run}"
            size = settings["image_size"]
        else:
            workdir, run, condition = Path(tmp), "bench", "effusion"
            films, size = synthetic_run(workdir, args.size, n_films=args.n), args.size
            what = "synthetic run, random weights"
        print(f"{what}: {size} px, lung crop+mask, {len(films)} films, {args.threads} threads")
        for model in ("cnn", "dml"):
            cold, warm, rate = measure(workdir, run, films, model, condition)
            print(
                f"{model}: cold {cold:.2f} s (networks loading), warm {warm:.3f} s per film "
                f"(median of 10; goal <= 1 s), batch of {len(films)}: {rate:.1f} films/s "
                f"({1 / rate:.3f} s per film)"
            )


if __name__ == "__main__":
    main()
