"""Query a finished run with a new film: preprocess it as the run did, embed, search.

The film goes through the run's own steps, read from ``results/<run>/index/settings.json``:
decode to grey, the lung ensemble and ``lung_mask`` mode when the run used them, resize
to the run's image size; then the model's embedding (IG: Deep Taylor map of the CNN
first, then the IG network on the map), an exact search of the model's index, and a
panel of the query and its neighbours with their saliency (or attention) overlays.

A query that is a film of the archive (its preprocessed image is byte for byte a film of
the run's cache: the run's preprocessing is this same code) would find itself first, and
its patient's other films next: by default those are left out of its neighbours
(``keep_same_patient`` keeps them), so that k neighbours are k other patients' films.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from cxr_cbir.errors import InputError
from cxr_cbir.preprocess.cache import ImageCache, fingerprint, with_fingerprints
from cxr_cbir.preprocess.decode import UnreadableImage
from cxr_cbir.preprocess.films import FilmPreprocessing
from cxr_cbir.retrieval.index import EmbeddingIndex
from cxr_cbir.run.layout import RunLayout
from cxr_cbir.segmentation.apply import preprocess_films
from cxr_cbir.segmentation.ensemble import read_weights
from cxr_cbir.segmentation.inference import load_members
from cxr_cbir.torch_utils import pick_device

QUERY_CHUNK = 16  # films preprocessed, embedded and searched at a time


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
    archive_id: str | None = None  # the archive film the query is, if it is one
    left_out: int = 0  # neighbours left out: the query's own film and its patient's


def load_settings(workdir: Path, run: str) -> dict:
    path = workdir / RunLayout(run).settings
    if not path.exists():
        raise InputError(
            f"{path}: not found; finish the run first (snakemake --configfile <config of {run}>)"
        )
    return json.loads(path.read_text())


def _require(path: Path, what: str, run: str) -> Path:
    if not path.exists():
        raise InputError(f"{path}: {what} not found; is the run {run!r} finished?")
    return path


class QueryEngine:
    """A finished run, loaded once for many queries: its preprocessing with the lung
    ensemble, and every network, index and table asked for so far (kept for the next
    query). The CLI builds one per call; the web server keeps one for its lifetime."""

    def __init__(self, run: str, workdir: str | Path = ".", backend: str = "auto", device=None):
        self.workdir = Path(workdir)
        self.run = run
        self.layout = RunLayout(run)
        self.settings = load_settings(self.workdir, run)
        self.preprocessing = FilmPreprocessing.from_settings(self.settings)
        seg = self.settings.get("segmentation") or {}
        if self.preprocessing.segments and seg.get("ensemble"):
            # the members' weights the run chose on validation pairs
            table = self._file(seg["ensemble"], "segmentation ensemble")
            weights = read_weights(table, list(seg["members"]))
            self.preprocessing = replace(self.preprocessing, seg_weights=weights)
        self.backend = backend
        self.device = device or pick_device()
        self._members = None
        self._nets: dict[tuple[str, str], torch.nn.Module] = {}
        self._indexes: dict[tuple[str, str], tuple[EmbeddingIndex, pd.DataFrame]] = {}
        self._cache = None
        self._fingerprints: dict[str, str] | None = None
        self._patients: pd.Series | None = None

    # -- what can be asked -------------------------------------------------------------
    def models(self) -> list[str]:
        return self.settings["condition_methods"] + self.settings["metric_methods"]

    def indexed(self) -> list[tuple[str, str]]:
        """(scope, method) of every search index the run wrote."""
        s = self.settings
        pairs = [(c, m) for c in s["conditions"] for m in s["condition_methods"]]
        return pairs + [("metric", m) for m in s["metric_methods"]]

    def scope(self, model: str, condition: str | None = None) -> str:
        """``metric`` for dml/ce, else the condition (default: the run's first)."""
        settings = self.settings
        if model in settings["metric_methods"]:
            return "metric"
        if model in settings["condition_methods"]:
            scope = condition or settings["conditions"][0]
            if scope not in settings["conditions"]:
                raise InputError(
                    f"--condition {scope!r}: run {self.run} has conditions {settings['conditions']}"
                )
            return scope
        raise InputError(
            f"--model {model!r}: unknown for run {self.run}; use one of {self.models()}"
        )

    # -- preprocessing -----------------------------------------------------------------
    def members(self) -> list:
        """The segmentation ensemble, loaded on first use (empty when the run has none)."""
        if self._members is None:
            self._members = []
            if self.preprocessing.segments:
                seg = self.settings["segmentation"]
                paths = {
                    name: self._file(m["model"], f"segmentation member {name}")
                    for name, m in seg["members"].items()
                }
                self._members = load_members(seg["members"], paths, self.device)
        return self._members

    def preprocess(self, films) -> tuple[np.ndarray, dict[int, str]]:
        """(images of the readable films, {position: reason} of the unreadable ones):
        the films as the run's cache holds them (``preprocessing.FilmPreprocessing``)."""
        failed = {i: "no such film" for i, f in enumerate(films) if not Path(f).is_file()}
        while True:
            readable = [i for i in range(len(films)) if i not in failed]
            if not readable:
                size = self.preprocessing.image_size
                return np.zeros((0, size, size), np.uint8), failed
            try:
                images, _ = preprocess_films(
                    self.preprocessing, [films[i] for i in readable], self.members(), self.device
                )
            except UnreadableImage as exc:  # drop that film, keep the others
                bad = next(i for i in readable if str(films[i]) == exc.path)
                failed[bad] = exc.reason
                continue
            return images, failed

    def _file(self, path: str, what: str) -> Path:
        """A file of the run's layout under the working directory; an error naming it if
        the run has not written it."""
        return _require(self.workdir / path, what, self.run)

    # -- embedding -----------------------------------------------------------------------
    def _net(self, scope: str, kind: str):
        key = (scope, kind)
        if key not in self._nets:
            path = self._file(self.layout.model(scope, kind), f"{kind} model")
            from cxr_cbir import models

            settings = self.settings["metric_model"] if scope == "metric" else None
            self._nets[key] = models.load(kind, path, self.device, settings)
        return self._nets[key]

    def embed(self, images: np.ndarray, scope: str, model: str, batch_size: int = 32):
        """(vectors (N, D), overlays (N, S, S) or None) of preprocessed films, as the
        workflow's embedding jobs compute them (IG: Deep Taylor maps of the CNN first)."""
        from cxr_cbir.models.predict import compute_embeddings, embed_all

        if scope == "metric":
            net = self._net(scope, model)
            vectors, _, masks = embed_all(
                net, images, batch_size, self.device, with_mask=True, progress=False
            )
            return vectors, masks
        maps = None
        if "cnn" in self.settings["condition_models"]:
            from cxr_cbir.models.saliency import saliency_maps

            method = self.settings["saliency_method"]
            cnn = self._net(scope, "cnn")
            maps = saliency_maps(cnn, images, method, 8, self.device, progress=False)
            maps = maps.astype(np.float32)
        if model == "sev":  # the severity model's predicted score (the graded column)
            return self._severity(scope, images, batch_size), maps
        if model == "cnn_sev":  # the CNN's features through the run's severity readout
            from cxr_cbir.retrieval.severity_readout import apply_readout

            path = self._file(self.layout.readout(scope), "readout")
            with np.load(path) as z:
                readout = {k: z[k] for k in z.files}
            cnn = self._net(scope, "cnn")
            vectors = compute_embeddings(cnn, images, batch_size, self.device, progress=False)
            return apply_readout(readout, vectors), maps
        if model in ("ig", "cnn_ig"):
            if maps is None:
                raise InputError(f"model {model} needs the CNN of {scope}, which this run lacks")
            net = self._net(scope, "cnn" if model == "cnn_ig" else "ig")
            return compute_embeddings(net, maps, batch_size, self.device, progress=False), maps
        net = self._net(scope, model)
        return compute_embeddings(net, images, batch_size, self.device, progress=False), maps

    def _severity(self, scope: str, images: np.ndarray, batch_size: int) -> np.ndarray:
        """(N, 1) predicted graded score, in its own units, as rule train_severity wrote."""
        from cxr_cbir import models
        from cxr_cbir.training.multi_output import predict_outputs

        with np.load(self._file(self.layout.severity_scaler(scope), "severity scaler")) as z:
            mean, scale = z["mean"], z["scale"]
        key = (scope, "sev")
        if key not in self._nets:
            path = self._file(self.layout.model(scope, "sev"), "sev model")
            self._nets[key] = models.load("sev", path, self.device, {"n_outputs": len(mean)})
        z = predict_outputs(self._nets[key], images, batch_size, self.device)
        return (z * scale + mean)[:, :1].astype(np.float32)

    # -- films of the archive ----------------------------------------------------------
    def archive_films(self, images: np.ndarray) -> list[str | None]:
        """The archive film (image id) each preprocessed query is, or None: found by its
        cached image, byte for byte, whatever the query file's name or format."""
        if self._fingerprints is None:
            path = self.workdir / self.settings["cache_index"]
            table = pd.read_parquet(path).sort_values("row")
            if "fingerprint" not in table:  # a run from before the index held them
                table = with_fingerprints(table, self.workdir / self.settings["cache_images"])
            self._fingerprints = {}
            for image_id, key in zip(table["image_id"], table["fingerprint"], strict=True):
                self._fingerprints.setdefault(key, image_id)
        return [self._fingerprints.get(fingerprint(image)) for image in images]

    def patients(self) -> pd.Series:
        """image id -> patient (``group``) of every film of the archive."""
        if self._patients is None:
            path = self._file(self.layout.manifest, "manifest")
            table = pd.read_parquet(path, columns=["image_id", "group"])
            self._patients = table.set_index("image_id")["group"].astype(str)
        return self._patients

    def same_patient(self, image_id: str | None) -> set[str]:
        """The film and every film of its patient (empty for a film not of the archive)."""
        if image_id is None:
            return set()
        patients = self.patients()
        if image_id not in patients.index:
            return {image_id}
        return {image_id, *patients.index[patients == patients[image_id]]}

    # -- search --------------------------------------------------------------------------
    def index(self, scope: str, model: str) -> tuple[EmbeddingIndex, pd.DataFrame]:
        key = (scope, model)
        if key not in self._indexes:
            path = self._file(self.layout.index(scope, model), f"{model} index")
            table = pd.read_parquet(self.workdir / self.layout.index_table(scope, model))
            self._indexes[key] = (
                EmbeddingIndex.load(path, self.backend),
                table.set_index("image_id"),
            )
        return self._indexes[key]

    def cache(self) -> ImageCache:
        if self._cache is None:
            s = self.settings
            self._cache = ImageCache(
                self.workdir / s["cache_images"], self.workdir / s["cache_index"]
            )
        return self._cache

    def search(
        self, images: np.ndarray, scope: str, model: str, k: int, keep_same_patient=False
    ) -> list[QueryResult]:
        """One ``QueryResult`` per preprocessed film: embedded, searched, with the
        neighbours' table, cached images and overlays. A film of the archive does not get
        itself or its patient's films as neighbours unless ``keep_same_patient``."""
        vectors, overlays = self.embed(images, scope, model)
        index, table = self.index(scope, model)
        archive = self.archive_films(images)
        skip = [set() if keep_same_patient else self.same_patient(a) for a in archive]
        dist, ids = index.search(vectors, min(k + max(map(len, skip), default=0), len(index)))
        results = []
        for j in range(len(images)):
            keep = [t for t, i in enumerate(ids[j]) if i not in skip[j]][:k]
            left_out = sum(i in skip[j] for i in ids[j][: (keep[-1] + 1) if keep else None])
            neighbours = table.loc[list(ids[j][keep])].reset_index()
            neighbours.insert(0, "rank", np.arange(1, len(neighbours) + 1))
            neighbours.insert(2, "distance", dist[j][keep])
            found = self.cache().stack(neighbours["image_id"])
            results.append(
                QueryResult(
                    images[j],
                    overlays[j] if overlays is not None else None,
                    neighbours,
                    found,
                    self.neighbour_overlays(scope, model, neighbours["image_id"], found),
                    scope,
                    model,
                    archive[j],
                    left_out,
                )
            )
        return results

    def query(
        self,
        films,
        model: str,
        k: int = 4,
        condition: str | None = None,
        keep_same_patient: bool = False,
        progress: bool = False,
    ):
        """(results of the readable films in order, {film: reason} of the others).

        Films go through in chunks of ``QUERY_CHUNK``; ``progress``: one bar over all the
        films (the CLI's), none from the steps inside."""
        scope = self.scope(model, condition)
        if k < 1:
            raise InputError(f"-k {k}: must be at least 1")
        films = [Path(f) for f in films]
        results, failed = [], {}
        with tqdm(
            total=len(films), desc=f"query {model}", unit="film", disable=not progress
        ) as bar:
            for start in range(0, len(films), QUERY_CHUNK):
                chunk = films[start : start + QUERY_CHUNK]
                images, bad = self.preprocess(chunk)
                failed.update({chunk[i]: reason for i, reason in bad.items()})
                if len(images):
                    results += self.search(images, scope, model, k, keep_same_patient)
                bar.update(len(chunk))
        return results, failed

    def neighbour_overlays(self, scope: str, model: str, ids, images):
        """Saliency maps of the neighbours from the run (condition models) or attention
        masks recomputed for them (metric model with attention); None when there are none."""
        if scope == "metric":
            if model != "dml" or not self.settings["metric_model"].get("attention", True):
                return None
            from cxr_cbir.models.predict import embed_all

            net = self._net("metric", "dml")
            return embed_all(net, images, 8, self.device, with_mask=True, progress=False)[2]
        maps_path = self.workdir / self.layout.saliency_maps(scope)
        if not maps_path.exists():
            return None
        maps = np.load(maps_path, mmap_mode="r")
        ids_path = self.workdir / self.layout.saliency_ids(scope)
        row = {i: k for k, i in enumerate(pd.read_parquet(ids_path)["image_id"])}
        return np.stack([np.asarray(maps[row[i]], np.float32) for i in ids])


def archive_note(result: QueryResult, kept: bool) -> str | None:
    """What the CLI and the page say of a query that is a film of the archive."""
    if result.archive_id is None:
        return None
    return f"film {result.archive_id} of the archive: " + (
        "its own and its patient's films are kept"
        if kept
        else f"{result.left_out} of its own and its patient's films left out"
    )


def format_table(result: QueryResult) -> str:
    """Plain-text table of the neighbours (blank where a field is unknown)."""
    table = result.neighbours.drop(columns=["path"], errors="ignore")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        return table.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")


def neighbours_csv(films, results, path) -> None:
    """One CSV of every film's neighbours: the film, then the printed table's columns."""
    from cxr_cbir.io_utils import write_csv

    tables = [
        r.neighbours.drop(columns=["path"], errors="ignore").assign(query=str(f))
        for f, r in zip(films, results, strict=True)
    ]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    write_csv(
        table[["query", *[c for c in table.columns if c != "query"]]] if tables else table, path
    )


def query_panel(result: QueryResult, film_name: str, path: str) -> None:
    """Query and neighbours (top row) with their overlays (bottom row) as a PNG."""
    from cxr_cbir.report.figures import _save, plt

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
