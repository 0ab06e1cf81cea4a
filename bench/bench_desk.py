"""The radiologist's desk on a finished run: DICOM twins, neighbours that are not the
query itself, one progress bar per command (issue 32's checks, as figures).

On ``--n`` archive films of the run's index for ``--model`` (films of patients with
several films first):

* DICOM twins: each film written as DICOM four ways, the way archives store films
  (8-bit MONOCHROME2; 8-bit MONOCHROME1, inverted; 12-bit with a window centre/width;
  16-bit signed with a rescale slope/intercept and a window), then queried: every kind
  must give the 8-bit MONOCHROME2 twin's film and neighbours; that twin against the
  stored film (its top-k overlap: a JPEG is read drafted down, the twin at full size, so
  the lung crop can differ; and whether it is recognised as the archive film: by bytes);
* neighbours: how many queries get their own film or a film of their patient among the
  top-k (must be none), the films left out per query, and with ``--keep-same-patient``
  the share of films that find themselves first;
* one progress bar: ``cxr-cbir query`` on a folder of all of them (originals and twins,
  one call) and the number of bars its stderr shows, with the wall time.

    .venv/bin/python bench/bench_desk.py --run covid-chestxray [--model dml] [--n 40]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxr_cbir.app.query import QueryEngine
from cxr_cbir.data.demo.dicom import write_dicom
from cxr_cbir.preprocess.decode import load_gray

ROOT = Path(__file__).resolve().parents[1]


FULL = 1 << 16  # no JPEG draft: the film's full resolution, as a DICOM of it would hold
WHOLE = {"WindowCenter": 127.5, "WindowWidth": 255}  # 0-255 shown as stored (no stretch)


def twins(film: Path, folder: Path) -> dict[str, Path]:
    """The film as DICOM four ways, each decoding to the same grey values (each with a
    window: without one, a reader shows a film's own range, stretched to 0-255)."""
    grey = load_gray(film, FULL).astype(np.int64)
    stem = folder / film.stem
    return {
        "8-bit MONOCHROME2": write_dicom(Path(f"{stem}_m2.dcm"), grey, bits_stored=8, **WHOLE),
        "8-bit MONOCHROME1": write_dicom(
            Path(f"{stem}_m1.dcm"), 255 - grey, "MONOCHROME1", bits_stored=8, **WHOLE
        ),
        "12-bit windowed": write_dicom(
            Path(f"{stem}_12.dcm"), grey * 16, WindowCenter=2040, WindowWidth=4080
        ),
        "16-bit rescaled": write_dicom(
            Path(f"{stem}_16.dcm"),
            grey * 8 - 1000,
            bits_stored=16,
            signed=True,
            RescaleSlope=0.5,
            RescaleIntercept=500,
            WindowCenter=510,
            WindowWidth=1020,
        ),
    }


def pick_films(engine: QueryEngine, scope: str, model: str, n: int) -> pd.DataFrame:
    """``n`` films of the model's index, those of patients with several films first."""
    table = pd.read_parquet(engine.workdir / engine.layout.index_table(scope, model))
    counts = table["group"].map(table["group"].value_counts())
    order = table.assign(films=counts).sort_values(["films", "image_id"], ascending=[False, True])
    return order.drop_duplicates("group").head(n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--model", default="dml")
    ap.add_argument("--condition")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--directory", type=Path, default=ROOT, help="folder holding results/")
    args = ap.parse_args()
    engine = QueryEngine(args.run, args.directory)
    scope = engine.scope(args.model, args.condition)
    condition = None if scope == "metric" else scope
    picked = pick_films(engine, scope, args.model, args.n)
    root = args.directory / engine.settings["root"]
    films = [root / p for p in picked["path"]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "films"
        folder.mkdir()
        kinds = [twins(f, folder) for f in films]
        for film in films:
            shutil.copy(film, folder / film.name)

        t = time.perf_counter()
        left, _ = engine.query(films, args.model, args.k, condition)
        kept, _ = engine.query(films, args.model, args.k, condition, keep_same_patient=True)
        print(
            f"{args.run}: {args.model} ({scope}), {len(films)} archive films of "
            f"{len(films)} patients ({int((picked['films'] > 1).sum())} with several films), "
            f"top {args.k}; {time.perf_counter() - t:.1f} s for both searches"
        )
        own = sum(
            bool(engine.same_patient(r.archive_id) & set(r.neighbours["image_id"])) for r in left
        )
        recognised = sum(r.archive_id == i for r, i in zip(left, picked["image_id"], strict=True))
        first = sum(
            r.neighbours["image_id"].iloc[0] == i
            for r, i in zip(kept, picked["image_id"], strict=True)
        )
        jpeg = sum(f.suffix.lower() in (".jpg", ".jpeg") for f in films)
        print(f"recognised as archive films (as stored): {recognised}/{len(films)}")
        print(f"(originals: {jpeg} JPEG, read drafted down; the DICOM twins: full size)")
        print(f"own film or patient's film among the top {args.k}: {own}/{len(films)} queries")
        lo = [r.left_out for r in left]
        print(f"left out per query: mean {np.mean(lo):.2f}, max {max(lo)}")
        print(f"with --keep-same-patient, the film is its own neighbour 1: {first}/{len(films)}")

        reference = None  # the 8-bit MONOCHROME2 twins' answers
        for kind in kinds[0]:
            paths = [k[kind] for k in kinds]
            images, failed = engine.preprocess(paths)
            assert not failed, failed
            results = engine.search(images, scope, args.model, args.k)
            top = [r.neighbours["image_id"].tolist() for r in results]
            if reference is None:
                reference = (images, top)
                pairs = [
                    (a, o.neighbours["image_id"].tolist()) for a, o in zip(top, left, strict=True)
                ]
                shared = np.array([len(set(a) & set(b)) / args.k for a, b in pairs])
                draws = np.random.default_rng(0).choice(shared, (2000, len(shared))).mean(1)
                low, high = np.percentile(draws, [2.5, 97.5])
                print(
                    f"DICOM {kind:<18} vs the stored film: top {args.k} overlap "
                    f"{shared.mean():.3f} [{low:.3f}, {high:.3f}] (films resampled), "
                    f"the same {sum(a == b for a, b in pairs)}/{len(paths)}, recognised "
                    f"{sum(r.archive_id is not None for r in results)}/{len(paths)}"
                )
                continue
            same_film = sum(np.array_equal(a, b) for a, b in zip(images, reference[0], strict=True))
            same_top = sum(a == b for a, b in zip(top, reference[1], strict=True))
            print(
                f"DICOM {kind:<18} vs 8-bit MONOCHROME2: the same film {same_film}/{len(paths)}, "
                f"the same top {args.k} {same_top}/{len(paths)}"
            )

        cmd = [sys.executable, "-m", "cxr_cbir.app.cli", "query", str(folder)]
        cmd += ["--run", args.run, "--model", args.model, "--directory", str(args.directory)]
        cmd += ["--out", str(Path(tmp) / "all.csv")] + (["--condition", scope] if condition else [])
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t
        n_files = len(list(folder.iterdir()))
        bars = set(re.findall(r"(?:^|\r|\n)([^\r\n:]+):\s+\d+%", proc.stderr))
        answered = pd.read_csv(Path(tmp) / "all.csv")["query"].nunique()
        print(
            f"one call on a folder of {n_files} films: exit {proc.returncode}, "
            f"{answered} answered, progress bars {sorted(bars)}, {wall:.1f} s "
            f"({n_files / wall:.1f} films/s, loading included)"
        )


if __name__ == "__main__":
    main()
