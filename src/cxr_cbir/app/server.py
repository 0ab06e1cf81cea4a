"""``cxr-cbir serve``: a local web page for a radiologist to query a finished run.

Upload a film (or pick one of the run's test films), choose the model and condition,
and see the query and the top-k archive films side by side, large enough to read (each
film as stored, at ``SHOWN`` px), with a toggle to what the model saw (the run's
preprocessed film) under its saliency (or attention) overlay, and a table of distance,
label, severity where known and clinical fields. A film of the archive does not get
itself or its patient's films as neighbours unless the page's box keeps them. The
page is served by Flask (small, well kept, its Jinja2 templates escape every value) on
127.0.0.1 by default; one ``QueryEngine`` keeps the run's networks loaded between
requests, behind a lock (torch inference is not re-entrant per model).

A bad upload never reaches the models: not an image, truncated, too small, too many
pixels or too many bytes each get a message on the page (HTTP 400/413), and 16-bit
films are accepted with a note that they were scaled to 8 bits by their own range.
"""

from __future__ import annotations

import base64
import io
import logging
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from flask import Flask, render_template, request
from PIL import Image

from cxr_cbir.app.query import QueryEngine, archive_note
from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import safe_join
from cxr_cbir.preprocess.decode import UnreadableImage, load_gray
from cxr_cbir.preprocess.dicom import is_dicom

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
MIN_SIDE = 64
SHOWN = 320  # px of each film on the page


def png_uri(image: np.ndarray, overlay: np.ndarray | None = None, size: int = SHOWN) -> str:
    """A data: URI of ``image`` (uint8, grey) with ``overlay`` (|map|, jet, 45 %) on it."""
    rgb = np.repeat(np.asarray(image, np.float32)[..., None] / 255.0, 3, axis=2)
    if overlay is not None:
        from matplotlib import colormaps

        m = np.abs(np.asarray(overlay, np.float32))
        if m.shape != rgb.shape[:2]:
            m = np.asarray(Image.fromarray(m).resize(rgb.shape[1::-1], Image.Resampling.BILINEAR))
        m = m / m.max() if m.max() > 0 else m
        rgb = 0.55 * rgb + 0.45 * colormaps["jet"](m)[..., :3]
    img = Image.fromarray(np.clip(rgb * 255, 0, 255).round().astype(np.uint8))
    return _data_uri(img.resize((size, size), Image.Resampling.BILINEAR))


def _data_uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def check_upload(path: Path) -> list[str]:
    """Notes for a readable film; ``InputError`` with the reason for one that is not."""
    dicom = is_dicom(path)
    mode, w, h = None, None, None
    if not dicom:  # PIL's own size: the decode below drafts JPEGs down
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a decompression bomb is named by the decode
                with Image.open(path) as im:
                    mode, (w, h) = im.mode, im.size
        except Exception:  # PIL raises many kinds; the decode below names the reason
            pass
    try:
        film = load_gray(path, MIN_SIDE)
    except UnreadableImage as exc:
        raise InputError(f"the upload cannot be read as a film: {exc.reason}") from None
    if dicom:
        h, w = film.shape
    if min(w, h) < MIN_SIDE:
        raise InputError(f"the film is {w} x {h} px: at least {MIN_SIDE} px per side is needed")
    notes = []
    if dicom:
        notes.append(f"DICOM film ({w} x {h} px), windowed as a reading station shows it")
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        notes.append(f"{mode} film ({w} x {h} px) scaled to 8 bits by its own range")
    return notes


def _index_films(engine: QueryEngine) -> tuple[dict[str, list[str]], dict[str, str]]:
    """({scope: its index's test-split films, sorted} for the 'pick a film' list,
    {image id: archive path} of every indexed film), read once when the app starts."""
    test, paths = {}, {}
    for scope, method in engine.indexed():
        table = pd.read_parquet(engine.workdir / engine.layout.index_table(scope, method))
        paths.update(zip(table["image_id"], table["path"], strict=True))
        if "split" in table:  # the metric index of a run may have no split column
            ids = table.loc[table["split"] == "test", "image_id"]
            test.setdefault(scope, set()).update(ids)
    return {scope: sorted(ids) for scope, ids in test.items() if ids}, paths


def _shown(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def as_stored(path: Path | None, fallback: np.ndarray) -> str:
    """The film at ``path`` as stored (whole frame, aspect kept, ``SHOWN`` px on its long
    side), or the run's preprocessed image when the file cannot be read any more."""
    if path is None:
        return png_uri(fallback)
    try:
        img = Image.fromarray(load_gray(path, SHOWN))
    except UnreadableImage:
        return png_uri(fallback)
    scale = SHOWN / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return _data_uri(img.resize(size, Image.Resampling.LANCZOS))


def _page_result(result, name: str, film: Path, archive: Path, kept: bool = False) -> dict:
    """What the page shows of one query: each film as stored and as the model saw it
    (with its overlay), and the neighbours' fields."""
    table = result.neighbours.drop(columns=["path"], errors="ignore")
    overlays = result.overlays if result.overlays is not None else [None] * len(table)
    paths = result.neighbours["path"] if "path" in result.neighbours else [None] * len(table)
    rows = [
        {
            "film": as_stored(safe_join(archive, p, where=row["image_id"]) if p else None, img),
            "seen": png_uri(img, ov),
            "cells": {c: _shown(v) for c, v in row.items()},
        }
        for (_, row), img, ov, p in zip(
            table.iterrows(), result.images, overlays, paths, strict=True
        )
    ]
    note = archive_note(result, kept)
    if note is not None:
        note = f"{name} is {note}"
    return {
        "name": name,
        "model": result.model,
        "scope": result.scope,
        "overlay_kind": "attention" if result.scope == "metric" else "saliency (CNN)",
        "film": as_stored(film, result.image),
        "seen": png_uri(result.image, result.overlay),
        "archive_note": note,
        "columns": list(table.columns),
        "rows": rows,
    }


def create_app(engine: QueryEngine) -> Flask:
    """The Flask app of one loaded run."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    lock = threading.Lock()
    test_films, film_paths = _index_films(engine)

    def film_path(image_id: str) -> Path:
        if image_id not in film_paths:
            raise InputError(f"test film {image_id!r} is not in the run's indexes")
        root = engine.workdir / engine.settings["root"]
        return safe_join(root, film_paths[image_id], where=f"image {image_id}")

    models = engine.models()
    conditions = engine.settings["conditions"]
    default = {
        "model": models[0],
        "condition": conditions[0],
        "k": 4,
        "test_film": "",
        "keep_same_patient": False,
    }

    def page(status=200, **kw):
        kw.setdefault("chosen", default)
        html = render_template(
            "query.html",
            run=engine.run,
            test_films=test_films,
            models=models,
            conditions=conditions,
            error=kw.get("error"),
            notes=kw.get("notes", []),
            result=kw.get("result"),
            chosen=kw["chosen"],
        )
        return html, status

    @app.get("/")
    def index():
        return page()

    @app.errorhandler(413)
    def too_large(_):
        mb = MAX_UPLOAD_BYTES // 2**20
        return page(413, error=f"the upload is larger than {mb} MB: not a single film")

    @app.post("/query")
    def query():
        form = request.form
        chosen = {
            "model": form.get("model", default["model"]),
            "condition": form.get("condition", default["condition"]),
            "k": form.get("k", "4"),
            "test_film": form.get("test_film", ""),
            "keep_same_patient": form.get("keep_same_patient") == "on",
        }
        upload = request.files.get("film")
        try:
            try:
                k = int(chosen["k"])
            except ValueError:
                raise InputError(f"neighbours: {chosen['k']!r} is not a whole number") from None
            if not 1 <= k <= 50:
                raise InputError(f"neighbours: {k} is outside 1..50")
            scope = engine.scope(chosen["model"], chosen["condition"])
            with tempfile.TemporaryDirectory() as tmp:
                if upload is not None and upload.filename:
                    name = Path(upload.filename).name
                    film = Path(tmp) / ("upload" + Path(name).suffix.lower())
                    upload.save(film)
                    notes = check_upload(film)
                elif chosen["test_film"]:
                    name, film, notes = (
                        chosen["test_film"],
                        film_path(chosen["test_film"]),
                        [],
                    )
                else:
                    raise InputError("choose a film to upload, or one of the run's test films")
                with lock:
                    results, failed = engine.query(
                        [film], chosen["model"], k, chosen["condition"], chosen["keep_same_patient"]
                    )
                for reason in failed.values():
                    raise InputError(f"the upload cannot be read as a film: {reason}")
                shown = _page_result(
                    results[0], name, film, engine.workdir / engine.settings["root"]
                )
        except InputError as exc:
            return page(400, error=str(exc), chosen=chosen)
        log.info("query %s: %s (%s) top %d", name, chosen["model"], scope, k)
        return page(result=shown, notes=notes, chosen=chosen)

    return app


def serve(run: str, workdir: str | Path = ".", host: str = "127.0.0.1", port: int = 8765):
    """Load the run once and serve its page until interrupted."""
    engine = QueryEngine(run, workdir)
    engine.members()  # the lung ensemble loads now, not on the first click
    app = create_app(engine)
    print(f"cxr-cbir: serving run {run} on http://{host}:{port}/ (Ctrl-C stops)")
    app.run(host=host, port=port, threaded=True, use_reloader=False)
