"""Cohort filters of Silva et al.: frontal views per condition, definite labels only.

View filter: keep the views allowed for a condition (e.g. AP for effusion, PA for
pneumonia); lateral films are never used for training. Label filter: keep 1 and 0,
drop -1 (uncertain) and blank (not mentioned).
"""

from __future__ import annotations

import pandas as pd

from cxr_cbir.data.archive.labels import check_label_values
from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import require_columns


def view_filter(manifest: pd.DataFrame, views: list[str]) -> pd.DataFrame:
    """Rows whose ``view`` is one of ``views``; LATERAL is refused as a training view."""
    if "LATERAL" in views:
        raise InputError("conditions.<name>.views: LATERAL films are never used for training")
    return manifest[manifest["view"].isin(views)].reset_index(drop=True)


def folder_filter(manifest: pd.DataFrame, folders: list[str] | None) -> pd.DataFrame:
    """Rows from the archive folders ``folders`` (all rows when None); a folder the
    archive does not hold is an error naming the ones it does."""
    if not folders:
        return manifest
    held = sorted(manifest["folder"].unique()) if "folder" in manifest.columns else []
    unknown = [f for f in folders if f not in held]
    if unknown:
        raise InputError(
            f"folders: {unknown} are not folders of this archive (data.folders); it holds {held}"
        )
    return manifest[manifest["folder"].isin(folders)].reset_index(drop=True)


def recorded_filter(df: pd.DataFrame, columns: list[str], source: str = "manifest") -> pd.DataFrame:
    """Rows that record at least one of ``columns`` as 1 or 0 (the pretraining films)."""
    require_columns(df, columns, source)
    values = df[columns].apply(pd.to_numeric, errors="coerce")
    return df[values.isin([0.0, 1.0]).any(axis=1)].reset_index(drop=True)


def label_filter(df: pd.DataFrame, column: str, source: str = "manifest") -> pd.DataFrame:
    """Rows with a definite label (1 or 0) in ``column``, as an int ``label`` column."""
    if column not in df.columns:
        raise InputError(
            f"{source}: label column {column!r} not found; available: {sorted(df.columns)}"
        )
    check_label_values(df, [column], source)
    values = pd.to_numeric(df[column], errors="coerce")
    keep = values.isin([0.0, 1.0])
    return df.loc[keep].assign(label=values[keep].astype(int)).reset_index(drop=True)


def count_table(cohorts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Split x label counts per condition (as in the paper's 61203 / 534 / 1072 table)."""
    rows = []
    for condition, df in cohorts.items():
        for (split, label), n in df.groupby(["split", "label"]).size().items():
            rows.append({"condition": condition, "split": split, "label": int(label), "n": int(n)})
    return pd.DataFrame(rows, columns=["condition", "split", "label", "n"])


def class_filter(
    df: pd.DataFrame, column: str, classes: list[str], views: list[str], source: str = "manifest"
) -> pd.DataFrame:
    """Films of the allowed views whose ``column`` is in ``classes``; ``label`` = class index."""
    if column not in df.columns:
        raise InputError(
            f"{source}: class column {column!r} not found; available: {sorted(df.columns)}"
        )
    kept = view_filter(df, views)
    kept = kept[kept[column].astype(str).isin(classes)]
    empty = [c for c in classes if not (kept[column].astype(str) == c).any()]
    if empty:
        raise InputError(
            f"metric_learning.classes: no film left of class(es) {empty} in {column!r}"
        )
    label = kept[column].astype(str).map({c: i for i, c in enumerate(classes)})
    return kept.assign(label=label.astype(int), class_name=kept[column].astype(str)).reset_index(
        drop=True
    )


def check_classes(
    cohort: pd.DataFrame, condition: str, column: str, splits=("train", "test")
) -> list[str]:
    """Refuse a cohort where filtering emptied a class of a split that needs both
    (train for training, test for catalogues and F1); return warnings for the others."""
    problems, warnings = [], []
    for split in ("train", "validate", "test"):
        part = cohort[cohort["split"] == split]
        for label, name in ((1, "positive (1)"), (0, "negative (0)")):
            if not (part["label"] == label).any():
                msg = f"no {name} film left in split {split!r}"
                (problems if split in splits else warnings).append(msg)
    if problems:
        counts = cohort.groupby(["split", "label"]).size().to_dict()
        raise InputError(
            f"conditions.{condition}: after the view and label filters on {column!r}, "
            + "; ".join(problems)
            + f" (films per (split, label): {counts}); widen conditions.{condition}.views "
            "or check the label column"
        )
    return warnings
