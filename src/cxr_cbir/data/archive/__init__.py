"""Readers that turn an archive on disk into the pipeline's manifest.

The manifest is one row per image with the standard columns below, plus whatever
label and clinical columns the archive has (kept under their own names):

``image_id`` unique id; ``path`` relative to the data root (checked to stay inside
it); ``subject_id``; ``study_id``; ``group`` (what a split must never straddle);
``view`` (PA, AP, LATERAL or OTHER); ``view_raw``; ``split_official`` (train,
validate, test or empty).
"""

from __future__ import annotations

import pandas as pd

from cxr_cbir.data.archive.covid_chestxray import read_covid_chestxray
from cxr_cbir.data.archive.mimic import read_mimic
from cxr_cbir.errors import InputError

MANIFEST_COLUMNS = [
    "image_id",
    "path",
    "subject_id",
    "study_id",
    "group",
    "view",
    "view_raw",
    "split_official",
]

FORMATS = ("mimic", "mimic-dicom", "covid-chestxray")


def build_manifest(fmt: str, root: str, folders: list[str] | None = None) -> pd.DataFrame:
    """Read the archive at ``root`` in layout ``fmt`` (mimic, mimic-dicom or covid-chestxray);
    for covid-chestxray optionally several archives (``folders``) inside ``root``."""
    if fmt not in FORMATS:
        raise InputError(f"data.format: unknown archive layout {fmt!r}; known: {sorted(FORMATS)}")
    if fmt == "covid-chestxray":
        df = read_covid_chestxray(root, folders)
    else:
        df = read_mimic(root, ".dcm" if fmt == "mimic-dicom" else ".jpg")
    dupes = df["image_id"][df["image_id"].duplicated()]
    if len(dupes):
        raise InputError(f"{root}: image id {dupes.iloc[0]!r} appears more than once")
    front = [c for c in MANIFEST_COLUMNS if c in df.columns]
    return df[front + [c for c in df.columns if c not in MANIFEST_COLUMNS]]
