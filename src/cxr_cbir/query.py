"""Query a finished run with a new film: preprocess it as the run did, embed, search.

The film goes through the run's own steps, read from ``results/<run>/index/settings.json``:
decode to grey, the lung ensemble and ``lung_mask`` mode when the run used them, resize
to the run's image size; then the model's embedding (IG: Deep Taylor map of the CNN
first, then the IG network on the map), an exact search of the model's index, and a
panel of the query and its neighbours with their saliency (or attention) overlays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .cache import ImageCache
from .errors import InputError
from .imaging import UnreadableImage, load_gray, load_resized
from .index import EmbeddingIndex
from .lung_crop import apply_mode
from .torch_utils import pick_device


@dataclass
class QueryResult:
    """The preprocessed query, its overlay, and the neighbours' table, images, overlays."""

    image: np.ndarray
    overlay: np.ndarray | None
    neighbours: pd.DataFrame
    images: np.ndarray
    overlays: np.ndarray | None
    scope: str
    model: str


def load_settings(workdir: Path, run: str) -> dict:
    path = workdir / "results" / run / "index" / "settings.json"
    if not path.exists():
        raise InputError(
            f"{path}: not found; finish the run first (snakemake --configfile <config of {run}>)"
        )
    return json.loads(path.read_text())


def _require(path: Path, what: str) -> Path:
    if not path.exists():
        raise InputError(f"{path}: {what} not found; is the run {path.parts[1]!r} finished?")
    return path


def preprocess(film: Path, settings: dict, workdir: Path, device) -> np.ndarray:
    """The film as the run's cache holds it: (S, S) uint8, lungs cropped/masked if used."""
    size, mode = settings["image_size"], settings["lung_mask"]
    try:
        if mode == "none":
            return load_resized(film, size)
        mask = segment(film, settings, workdir, device)
        return apply_mode(load_gray(film, 2 * size), mask, mode, size)
    except UnreadableImage as exc:
        raise InputError(f"{film}: {exc.reason}") from None


def segment(film: Path, settings: dict, workdir: Path, device) -> np.ndarray:
    """Lung mask of the run's segmentation ensemble (mean probability, cleaned)."""
    from .segmentation.inference import load_members, segment

    seg = settings["segmentation"]
    image = load_resized(film, seg["image_size"])[None]
    paths = {
        name: _require(workdir / member["model"], f"segmentation member {name}")
        for name, member in seg["members"].items()
    }
    models = load_members(seg["members"], paths, device)
    return segment(models, image, seg.get("threshold") or 0.5, device)[0]


def _classifier(out: Path, condition: str, kind: str, device):
    from .models import load_model

    path = _require(out / "models" / condition / kind / "model.pt", f"{kind} model")
    return load_model(kind, path, device)


def _saliency(out: Path, condition: str, images: np.ndarray, method: str, device) -> np.ndarray:
    from .saliency import saliency_maps

    cnn = _classifier(out, condition, "cnn", device)
    return saliency_maps(cnn, images, method, 8, device).astype(np.float32)


def embed_query(image: np.ndarray, settings: dict, out: Path, scope: str, model: str, device):
    """(embedding (1, D), overlay map or None) of one preprocessed film."""
    from .embeddings import compute_embeddings

    batch = image[None]
    if scope == "metric":
        from .models.metric import load_metric_model
        from .training.metric import embed_all

        path = _require(out / "models" / "metric" / model / "model.pt", f"{model} model")
        net = load_metric_model(model, settings["metric_model"], path, device)
        vectors, _, masks = embed_all(net, batch, 1, device, with_mask=True)
        return vectors, (masks[0] if masks is not None else None)
    method = settings["saliency_method"]
    smap = _saliency(out, scope, batch, method, device) if "cnn" in _trained(out, scope) else None
    if model in ("ig", "cnn_ig"):
        if smap is None:
            raise InputError(f"model {model} needs the CNN of {scope}, which this run lacks")
        net = _classifier(out, scope, "cnn" if model == "cnn_ig" else "ig", device)
        return compute_embeddings(net, smap, 1, device), smap[0]
    net = _classifier(out, scope, model, device)
    return compute_embeddings(net, batch, 1, device), (smap[0] if smap is not None else None)


def _trained(out: Path, scope: str) -> set[str]:
    return {p.parent.name for p in (out / "models" / scope).glob("*/model.pt")}


def neighbour_overlays(out: Path, scope: str, model: str, ids, images, settings, device):
    """Saliency maps of the neighbours from the run (condition models) or attention
    masks recomputed for them (metric model with attention); None when there are none."""
    if scope == "metric":
        if model != "dml" or not settings["metric_model"].get("attention", True):
            return None
        from .models.metric import load_metric_model
        from .training.metric import embed_all

        path = out / "models" / "metric" / "dml" / "model.pt"
        net = load_metric_model("dml", settings["metric_model"], path, device)
        return embed_all(net, images, 8, device, with_mask=True)[2]
    maps_path = out / "saliency" / scope / "maps.npy"
    if not maps_path.exists():
        return None
    maps = np.load(maps_path, mmap_mode="r")
    row = {
        i: k
        for k, i in enumerate(pd.read_parquet(out / "saliency" / scope / "ids.parquet")["image_id"])
    }
    return np.stack([np.asarray(maps[row[i]], np.float32) for i in ids])


def run_query(
    film: str | Path,
    run: str,
    model: str,
    k: int = 4,
    condition: str | None = None,
    workdir: str | Path = ".",
    backend: str = "auto",
) -> QueryResult:
    """Top-``k`` neighbours of ``film`` in the run's index of ``model``."""
    workdir = Path(workdir)
    settings = load_settings(workdir, run)
    out = workdir / settings["out"]
    film = Path(film)
    if model in settings["metric_methods"]:
        scope = "metric"
    elif model in settings["condition_methods"]:
        scope = condition or settings["conditions"][0]
        if scope not in settings["conditions"]:
            raise InputError(
                f"--condition {scope!r}: run {run} has conditions {settings['conditions']}"
            )
    else:
        known = settings["condition_methods"] + settings["metric_methods"]
        raise InputError(f"--model {model!r}: unknown for run {run}; use one of {known}")
    if k < 1:
        raise InputError(f"-k {k}: must be at least 1")
    device = pick_device()
    image = preprocess(film, settings, workdir, device)
    vector, overlay = embed_query(image, settings, out, scope, model, device)
    index = EmbeddingIndex.load(
        _require(out / "index" / scope / f"{model}.npz", f"{model} index"), backend
    )
    dist, ids = index.search(vector, k)
    table = pd.read_parquet(out / "index" / scope / f"{model}.parquet").set_index("image_id")
    neighbours = table.loc[list(ids[0])].reset_index()
    neighbours.insert(0, "rank", np.arange(1, len(neighbours) + 1))
    neighbours.insert(2, "distance", dist[0])
    cache = ImageCache(workdir / settings["cache_images"], workdir / settings["cache_index"])
    images = cache.stack(neighbours["image_id"])
    overlays = neighbour_overlays(
        out, scope, model, neighbours["image_id"], images, settings, device
    )
    return QueryResult(image, overlay, neighbours, images, overlays, scope, model)


def format_table(result: QueryResult) -> str:
    """Plain-text table of the neighbours (blank where a field is unknown)."""
    table = result.neighbours.drop(columns=["path"], errors="ignore")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        return table.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")


def query_panel(result: QueryResult, film_name: str, path: str) -> None:
    """Query and neighbours (top row) with their overlays (bottom row) as a PNG."""
    from .figures import _save, plt

    n = len(result.neighbours) + 1
    rows = 2 if result.overlay is not None or result.overlays is not None else 1
    fig, axes = plt.subplots(rows, n, figsize=(2.2 * n, 2.4 * rows), squeeze=False)
    images = [result.image, *result.images]
    overlays = [
        result.overlay,
        *(result.overlays if result.overlays is not None else [None] * (n - 1)),
    ]
    label_col = next(
        (c for c in ("label", "finding", "class_name") if c in result.neighbours), None
    )
    titles = [f"query\n{film_name[:18]}"]
    for r in result.neighbours.itertuples(index=False):
        label = f"{label_col}={getattr(r, label_col)}" if label_col else ""
        titles.append(f"#{r.rank} d={r.distance:.3g}\n{label}")
    for j in range(n):
        axes[0][j].imshow(images[j], cmap="gray", vmin=0, vmax=255)
        axes[0][j].set_title(titles[j], fontsize=8)
        if rows == 2:
            axes[1][j].imshow(images[j], cmap="gray", vmin=0, vmax=255)
            if overlays[j] is not None:
                m = np.abs(np.asarray(overlays[j], np.float32))
                axes[1][j].imshow(
                    m, cmap="jet", alpha=0.45, extent=(0, images[j].shape[1], images[j].shape[0], 0)
                )
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    if rows == 2:
        kind = "attention" if result.scope == "metric" else "saliency (CNN)"
        axes[1][0].set_ylabel(kind, fontsize=8)
    fig.suptitle(f"{result.model} ({result.scope}): top {n - 1}", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def ensure_torch_threads(n: int | None) -> None:
    if n:
        torch.set_num_threads(n)
