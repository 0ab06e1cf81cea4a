"""Reader for the MIMIC-CXR-JPG 2.0.0 layout (also used by the synthetic demo), and for
MIMIC-CXR's DICOM files in the same folders (``mimic-dicom``: ``<dicom_id>.dcm`` where the
JPG layout has ``<dicom_id>.jpg``, read with the JPG release's CSVs, which share the ids)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr_cbir.data.archive.labels import check_label_values
from cxr_cbir.data.mimic_layout import CHEXPERT_FILE, CHEXPERT_LABELS, METADATA_FILE, SPLIT_FILE
from cxr_cbir.io_utils import check_inside_root, read_table

VIEW_MAP = {"PA": "PA", "AP": "AP", "LATERAL": "LATERAL", "LL": "LATERAL", "RL": "LATERAL"}


def read_mimic(root: str, suffix: str = ".jpg") -> pd.DataFrame:
    """The manifest of a MIMIC archive whose films end in ``suffix`` (.jpg or .dcm)."""
    rootp = Path(root)
    ids = {"dicom_id": str, "subject_id": str, "study_id": str}
    meta = read_table(
        rootp / METADATA_FILE, ["dicom_id", "subject_id", "study_id", "ViewPosition"], dtype=ids
    )
    labels = read_table(
        rootp / CHEXPERT_FILE, ["subject_id", "study_id", *CHEXPERT_LABELS], dtype=ids
    )
    check_label_values(labels, CHEXPERT_LABELS, str(rootp / CHEXPERT_FILE))
    df = meta.merge(labels, on=["subject_id", "study_id"], how="left", validate="many_to_one")
    split_path = rootp / SPLIT_FILE
    if split_path.exists():
        split = read_table(split_path, ["dicom_id", "split"], dtype=ids)
        df = df.merge(split[["dicom_id", "split"]], on="dicom_id", how="left")
        df = df.rename(columns={"split": "split_official"})
    else:
        df["split_official"] = ""
    df["split_official"] = df["split_official"].fillna("")
    truth = rootp / "sidecar" / "truth.csv"
    if truth.exists():  # demo only: true severity etc.
        t = read_table(truth, ["dicom_id"], dtype=ids).drop(
            columns=["subject_id", "study_id", "view"], errors="ignore"
        )
        df = df.merge(t, on="dicom_id", how="left")
    subject, study = df["subject_id"].astype(str), df["study_id"].astype(str)
    paths = (
        "files/p"
        + subject.str[:2]
        + "/p"
        + subject
        + "/s"
        + study
        + "/"
        + df["dicom_id"].astype(str)
        + suffix
    ).tolist()
    check_inside_root(root, paths, lambda i: f"{rootp / METADATA_FILE} row {i + 2}")
    view_raw = df["ViewPosition"].fillna("").astype(str)
    return df.assign(
        image_id=df["dicom_id"],
        path=paths,
        group=df["subject_id"],
        view_raw=view_raw,
        view=view_raw.str.upper().map(VIEW_MAP).fillna("OTHER"),
    )
