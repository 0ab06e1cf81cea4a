"""NIH ChestX-ray14's own findings joined to the NIH films of a covid-chestxray archive.

NIH's label table (``Image Index``, ``Finding Labels``: findings joined by ``|`` or
``No Finding``) gives each ChestX-ray14 film 14 findings. cxr-pool carries them as 0/1
columns already (``finding_effusion``, ..., ``no_finding``); cxr-extra's NIH films
(``nih__<Image Index stem>.jpg``) do not. This join fills those columns for every NIH
film of the archive from the table, where the archive leaves them blank, so that the
pretraining stage and an effusion condition see every NIH finding the archive holds.
A film the archive already labels keeps its own value; films not in the table keep
blanks (unknown).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import read_table

FINDINGS = [
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Effusion",
    "Emphysema",
    "Fibrosis",
    "Hernia",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pleural_Thickening",
    "Pneumonia",
    "Pneumothorax",
]
NO_FINDING = "No Finding"
TABLE_COLUMNS = ["Image Index", "Finding Labels"]
# an NIH film of the archive: nih__00001280_004.jpg is Image Index 00001280_004.png
NIH_FILE = re.compile(r"^nih__(\d{8}_\d{3})\.[A-Za-z]+$")


def column_name(finding: str) -> str:
    """``Pleural_Thickening`` -> ``finding_pleural_thickening``; No Finding -> ``no_finding``."""
    if finding == NO_FINDING:
        return "no_finding"
    return "finding_" + finding.lower().replace(" ", "_")


COLUMNS = [column_name(f) for f in FINDINGS] + ["no_finding"]


def finding_table(path: str) -> pd.DataFrame:
    """NIH's table as one 0/1 column per finding (and ``no_finding``), indexed by the
    Image Index stem; a label outside the 14 findings is an error naming its row."""
    df = read_table(path, TABLE_COLUMNS, dtype={"Image Index": str, "Finding Labels": str})
    known = set(FINDINGS) | {NO_FINDING}
    labels = df["Finding Labels"].fillna("").str.split("|")
    for i, names in enumerate(labels):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(
                f"{path}: row {i + 2} ({df['Image Index'].iloc[i]}): finding {unknown[0]!r} "
                f"is not one of NIH's: {sorted(known)}"
            )
    out = pd.DataFrame(
        {column_name(f): labels.map(lambda n, f=f: float(f in n)) for f in [*FINDINGS, NO_FINDING]}
    )
    out.index = df["Image Index"].str.rsplit(".", n=1).str[0]
    if out.index.duplicated().any():
        raise InputError(f"{path}: Image Index {out.index[out.index.duplicated()][0]!r} twice")
    return out


def attach_nih_labels(manifest: pd.DataFrame, path: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The manifest with NIH's findings filled in for its NIH films, and counts: NIH films
    of the archive, how many the table holds, how many cells it filled."""
    table = finding_table(path)
    stems = manifest["file"].astype(str).str.extract(NIH_FILE, expand=False)
    found = stems.isin(table.index).to_numpy()
    out = manifest.copy()
    filled = 0
    for col in COLUMNS:
        current = (
            pd.to_numeric(out[col], errors="coerce").astype(float)
            if col in out.columns
            else pd.Series(np.nan, index=out.index)
        )
        joined = stems.map(table[col])
        blank = current.isna().to_numpy() & found
        filled += int(blank.sum())
        out[col] = current.where(~blank, joined)
    counts = {"nih_films": int(stems.notna().sum()), "in_table": int(found.sum()), "filled": filled}
    return out, counts
