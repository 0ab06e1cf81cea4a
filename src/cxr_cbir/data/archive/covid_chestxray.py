"""Reader for the covid-chestxray layout (``metadata.csv`` + ``images/``).

See ``../shared/data/README.md``: ``file`` names the image, ``view`` is PA/AP/LATERAL,
``split_group`` joins patients and near-duplicate images so that a split by it never
lets one patient or one picture straddle train and test.

Several archives of this layout inside one data root (``data.folders``, e.g. cxr-real
and cxr-extra) are read as one: image paths are then ``<folder>/images/<file>``, still
relative to (and checked to stay inside) the data root. Their ``split_group`` ids are
built to be joined across the folders (cxr-extra's near-duplicates of cxr-real films
carry the cxr-real group). ``folder`` names the archive folder of each film, so that a
condition can keep to some of them (``conditions.<name>.folders``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr_cbir.data.archive.labels import check_label_values
from cxr_cbir.io_utils import check_inside_root, read_table, safe_join

REQUIRED = ["file", "patient_id", "view", "split_group", "label_3class", "covid", "pneumonia"]


def read_covid_chestxray(root: str, folders: list[str] | None = None) -> pd.DataFrame:
    """One manifest from the archive at ``root``, or from each of ``folders`` inside it."""
    if not folders:
        return _read_one(root, "")
    parts = [_read_one(root, folder) for folder in folders]
    return pd.concat(parts, ignore_index=True)


def _read_one(root: str, folder: str) -> pd.DataFrame:
    rootp = Path(root)
    source = (
        safe_join(root, folder, where="data.folders") / "metadata.csv"
        if folder
        else rootp / "metadata.csv"
    )
    df = read_table(
        source,
        REQUIRED,
        dtype={"file": str, "patient_id": str, "split_group": str},
        low_memory=False,
    )
    check_label_values(df, ["covid", "pneumonia"], str(source))
    prefix = f"{folder}/images/" if folder else "images/"
    paths = (prefix + df["file"].astype(str)).tolist()
    check_inside_root(root, paths, lambda i: f"{source} row {i + 2}")
    view_raw = df["view_raw"] if "view_raw" in df.columns else df["view"]
    view = df["view"].fillna("").astype(str).str.upper()
    return df.assign(
        image_id=df["file"].str.rsplit(".", n=1).str[0],
        path=paths,
        subject_id=df["patient_id"],
        study_id="",
        group=df["split_group"],
        view_raw=view_raw.fillna("").astype(str),
        view=view.where(view.isin(["PA", "AP", "LATERAL"]), "OTHER"),
        split_official="",
        folder=folder,
    )
