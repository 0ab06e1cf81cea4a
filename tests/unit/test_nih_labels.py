"""NIH's findings joined to an archive's NIH films; archive folders and pretraining films
chosen per stage; the three real folders read as one archive stay patient-disjoint."""

import gzip

import numpy as np
import pandas as pd
import pytest

from cxr_cbir.data.archive import build_manifest
from cxr_cbir.data.archive.nih_labels import COLUMNS, attach_nih_labels, finding_table
from cxr_cbir.data.filters import folder_filter, recorded_filter
from cxr_cbir.data.splits import group_split
from cxr_cbir.errors import InputError

TABLE = """Image Index,Finding Labels,Follow-up #,Patient ID
00000001_000.png,Cardiomegaly,0,1
00000002_000.png,Effusion|Infiltration,0,2
00000003_001.png,No Finding,1,3
00000004_000.png,Pleural_Thickening|Effusion,0,4
"""


def _table(tmp_path, text=TABLE):
    path = tmp_path / "nih.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(text)
    return str(path)


def _manifest():
    # the second film carries its own (pool) labels: they are kept, not overwritten
    return pd.DataFrame(
        {
            "file": [
                "nih__00000001_000.jpg",
                "nih__00000002_000.jpg",
                "nih__00000003_001.jpg",
                "nih__00000009_000.jpg",
                "ieee8023__00000004_000.jpg",
            ],
            "finding_effusion": [np.nan, 0.0, np.nan, np.nan, np.nan],
        }
    )


def test_findings_fill_blank_cells_of_nih_films_only(tmp_path):
    out, counts = attach_nih_labels(_manifest(), _table(tmp_path))
    assert counts == {"nih_films": 4, "in_table": 3, "filled": 3 * len(COLUMNS) - 1}
    assert out["finding_cardiomegaly"].tolist()[:3] == [1.0, 0.0, 0.0]
    # the film's own 0 stands; the table's Effusion does not overwrite it
    assert out["finding_effusion"].tolist()[:3] == [0.0, 0.0, 0.0]
    assert out["finding_infiltration"].iloc[1] == 1.0
    assert out["no_finding"].tolist()[:3] == [0.0, 0.0, 1.0]
    # not in the table, and not an NIH film (same stem, other source): unknown
    assert out.loc[3:, COLUMNS].isna().all().all()


def test_pleural_thickening_column_and_unknown_finding_named(tmp_path):
    table = finding_table(_table(tmp_path))
    assert table.loc["00000004_000", "finding_pleural_thickening"] == 1.0
    bad = TABLE + "00000005_000.png,Effusion|Covid,0,5\n"
    with pytest.raises(InputError, match=r"row 6 \(00000005_000.png\): finding 'Covid'"):
        finding_table(_table(tmp_path, bad))
    with pytest.raises(InputError, match="Finding Labels"):
        finding_table(_table(tmp_path, "Image Index,Labels\n00000001_000.png,Mass\n"))


def test_folder_and_recorded_filters():
    df = pd.DataFrame(
        {
            "folder": ["cxr-real", "cxr-pool", "cxr-pool", "cxr-extra"],
            "no_finding": [np.nan, 1.0, np.nan, -1.0],
            "finding_mass": [np.nan, np.nan, 0.0, np.nan],
        }
    )
    assert folder_filter(df, None) is df
    assert folder_filter(df, ["cxr-real", "cxr-extra"])["folder"].tolist() == [
        "cxr-real",
        "cxr-extra",
    ]
    with pytest.raises(InputError, match=r"\['cxr-other'\] are not folders.*cxr-pool"):
        folder_filter(df, ["cxr-other"])
    # -1 and blank are not recorded: two films record a finding
    assert recorded_filter(df, ["no_finding", "finding_mass"])["folder"].tolist() == [
        "cxr-pool",
        "cxr-pool",
    ]
    with pytest.raises(InputError, match="finding_edema"):
        recorded_filter(df, ["finding_edema"])


@pytest.mark.shared_data
def test_three_real_folders_split_patient_disjoint(shared_data):
    """cxr-real, cxr-extra and cxr-pool as one archive, split by split_group: no patient
    and no near-duplicate picture straddles two splits, across the folders."""
    m = build_manifest("covid-chestxray", str(shared_data), ["cxr-real", "cxr-extra", "cxr-pool"])
    assert m["folder"].value_counts().to_dict() == {
        "cxr-extra": 1039,
        "cxr-pool": 872,
        "cxr-real": 614,
    }
    m, counts = attach_nih_labels(m, str(shared_data / "labels/nih_data_entry_2017_v2020.csv.gz"))
    assert counts["nih_films"] == counts["in_table"] == 1624  # 999 + 625
    extra = m[m["folder"] == "cxr-extra"]
    assert extra["finding_effusion"].notna().sum() == 999
    split = group_split(m, {"train": 0.6, "validate": 0.15, "test": 0.25}, 42, "label_3class")
    m = m.assign(split=split)
    # patients are shared across folders (22 pool films of cxr-extra patients)
    shared = m.groupby("patient_id")["folder"].nunique()
    assert (shared > 1).sum() >= 20
    assert (m.groupby("patient_id")["split"].nunique() == 1).all()
    assert (m.groupby("split_group")["split"].nunique() == 1).all()
