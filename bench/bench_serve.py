"""``cxr-cbir serve`` under load: latency of concurrent uploads, good and bad, on 127.0.0.1.

The page of a run (the synthetic 128-px run of ``bench_query.py`` with its five lung
members and random-weight networks, or ``--run NAME``) is served in this process by the
same Flask app as ``cxr-cbir serve``; ``--clients`` threads post ``--n`` uploads as the
page's form does (``cxr_cbir.app.client``): three in four good films (JPEG, and DICOM
made from them), one in four bad (truncated JPEG, a PDF, a multi-frame DICOM). Prints the
latency distribution (p50, p95, max) of good and bad requests, alone and under load,
their ratio, and the throughput. Every request must be answered (200 for a good film,
400 naming the reason for a bad one) or the benchmark fails.

    .venv/bin/python bench/bench_serve.py [--clients 8] [--n 48] [--run demo]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from bench_query import ROOT, run_films, synthetic_run
from werkzeug.serving import make_server

from cxr_cbir.app.client import error_text, post_film
from cxr_cbir.app.query import QueryEngine
from cxr_cbir.app.server import create_app
from cxr_cbir.data.demo.dicom import write_dicom
from cxr_cbir.preprocess.decode import load_gray


def uploads(films: list[Path], n: int, tmp: Path) -> list[tuple[bytes, str, bool]]:
    """``n`` uploads (bytes, name, good?): 3 in 4 good films, 1 in 4 bad files."""
    jpeg = films[0].read_bytes()
    grey = load_gray(films[0], 256)
    bad = [
        (jpeg[: len(jpeg) // 2], "cut.jpg"),
        (b"%PDF-1.4 not a film", "report.pdf"),
        (
            write_dicom(tmp / "frames.dcm", np.stack([grey, grey]), bits_stored=8).read_bytes(),
            "frames.dcm",
        ),
    ]
    out = []
    for i in range(n):
        if i % 4 == 3:
            data, name = bad[(i // 4) % len(bad)]
            out.append((data, name, False))
        elif i % 8 == 1:
            film = films[i % len(films)]
            data = write_dicom(
                tmp / f"{film.stem}.dcm", load_gray(film, 256), bits_stored=8
            ).read_bytes()
            out.append((data, f"{film.stem}.dcm", True))
        else:
            film = films[i % len(films)]
            out.append((film.read_bytes(), film.name, True))
    return out


def percentiles(seconds: list[float]) -> str:
    if not seconds:
        return "-"
    q = np.percentile(seconds, [50, 95])
    return f"p50 {q[0]:.3f} s, p95 {q[1]:.3f} s, max {max(seconds):.3f} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--run", help="a finished run under results/ instead of the synthetic one")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.run:
            workdir, run, films = ROOT, args.run, run_films(ROOT, args.run, 24)
        else:
            workdir, run = tmp, "bench"
            films = synthetic_run(tmp, args.size, n_films=24)
        engine = QueryEngine(run, workdir)
        condition = engine.settings["conditions"][0]
        fields = {"model": "cnn", "condition": condition, "k": "4"}
        server = make_server("127.0.0.1", 0, create_app(engine), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        jobs = uploads(films, args.n, tmp)
        post_film(url, *jobs[0][:2], fields)  # networks and lung members load
        alone = [post_film(url, d, n, fields)[2] for d, n, good in jobs[:12] if good]
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            answers = list(pool.map(lambda j: post_film(url, j[0], j[1], fields), jobs))
        wall = time.perf_counter() - start
        server.shutdown()
        lat = {True: [], False: []}
        for (_, name, good), (status, page, seconds) in zip(jobs, answers, strict=True):
            if status != (200 if good else 400) or (not good and not error_text(page)):
                raise SystemExit(f"{name}: HTTP {status}, {error_text(page)!r}: not answered")
            lat[good].append(seconds)
        size = engine.settings["image_size"]
        print(
            f"{run}: {size} px, cnn, k 4, {args.threads} torch threads; {len(jobs)} uploads "
            f"({len(lat[True])} good, {len(lat[False])} bad), {args.clients} clients at once"
        )
        print(f"good, one client:      {percentiles(alone)}")
        print(f"good, under load:      {percentiles(lat[True])}")
        print(f"bad, under load:       {percentiles(lat[False])}")
        ratio = statistics.median(lat[True]) / statistics.median(alone)
        print(f"p50 under load / alone: {ratio:.1f}x (queries share one lock: they queue)")
        print(f"throughput: {len(jobs) / wall:.2f} requests/s; every request answered")


if __name__ == "__main__":
    main()
