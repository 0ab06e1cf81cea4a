"""Lung masks of two conventions: pairs from several mask folders, split by patient, and
held-out Dice per source with intervals and an ensemble-vs-best-member verdict."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.dice_by_source import dice_by_source, source_summary
from cxr_cbir.training.lung_pairs import lung_mask_pairs


def _folder(root, dataset, n, patients=None, convention="includes lung behind heart"):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rows = []
    for i in range(n):
        name = f"{dataset}__{i:03d}.png"
        Image.fromarray(np.full((8, 8), 100, np.uint8)).save(root / "images" / name)
        Image.fromarray(np.full((8, 8), 255, np.uint8)).save(root / "masks" / name)
        rows.append((name, dataset, f"{dataset}:{(patients or {}).get(i, i)}", convention))
    columns = ["file", "dataset", "patient_id", "lung_convention"]
    pd.DataFrame(rows, columns=columns).to_csv(root / "metadata.csv", index=False)
    return str(root)


def test_two_mask_folders_are_one_patient_split_stratified_by_source(tmp_path):
    v7 = _folder(tmp_path / "lung-masks", "v7", 20, patients={1: 0, 2: 0})
    jsrt = _folder(tmp_path / "lung-masks-jsrt", "jsrt", 10, convention="excludes the heart")
    single = lung_mask_pairs(v7, 0.3, 0, None, 0, 0)
    pairs = lung_mask_pairs([v7, jsrt], 0.3, 0, None, 0, 0)
    assert len(pairs) == 30 and set(pairs["dataset"]) == {"v7", "jsrt"}
    # each pair's lung convention, read from its folder's metadata
    assert pairs.groupby("dataset")["convention"].agg(set).to_dict() == {
        "v7": {"includes_heart"},
        "jsrt": {"excludes_heart"},
    }
    # both sources are held out in proportion, and no patient straddles the split
    held = pairs[pairs["split"] == "holdout"].groupby("dataset")["patient"].nunique()
    assert held.to_dict() == {"v7": 5, "jsrt": 3}  # 30 % of 18 and of 10 patients
    assert (pairs.groupby("patient")["split"].nunique() == 1).all()
    # one folder given as a string or as a list of one: the same pairs, the same split
    assert single.equals(lung_mask_pairs([v7], 0.3, 0, None, 0, 0))
    assert lung_mask_pairs([v7, jsrt], 0.3, 0, ["jsrt"], 0, 0)["dataset"].eq("jsrt").all()
    with pytest.raises(InputError, match="in two folders"):
        lung_mask_pairs([v7, v7], 0.3, 0, None, 0, 0)
    odd = _folder(tmp_path / "odd", "odd", 3, convention="whole thorax")
    with pytest.raises(InputError, match=r"metadata.csv row 2: lung_convention 'whole thorax'"):
        lung_mask_pairs(odd, 0.3, 0, None, 0, 0)


def _dice_table():
    rng = np.random.default_rng(0)
    rows, pairs = [], []
    for source, n, good in (("v7", 30, "a"), ("jsrt", 20, "b")):
        for i in range(n):
            image = f"{source}{i}"
            pairs.append((image, source, f"{source}-p{i // 2}"))
            a = 0.95 if good == "a" else 0.85
            b = 0.95 if good == "b" else 0.85
            d = {"a": a + rng.normal(0, 0.01), "b": b + rng.normal(0, 0.01)}
            # the ensemble beats the best member on v7, falls below it on jsrt
            d["ensemble"] = d[good] + (0.02 if source == "v7" else -0.03)
            rows += [(m, image, v) for m, v in d.items()]
    dice = pd.DataFrame(rows, columns=["member", "image", "dice"])
    return dice, pd.DataFrame(pairs, columns=["pair_id", "dataset", "patient"])


def test_dice_per_source_names_each_sources_best_member_and_verdict():
    dice, pairs = _dice_table()
    table = dice_by_source(dice, pairs)
    assert list(table.columns) == ["source", "member", "image", "dice"]
    assert table.groupby("source").size().to_dict() == {"jsrt": 60, "v7": 90}
    summary = source_summary(table, pairs).set_index(["source", "comparison", "member"])
    v7 = summary.loc[("v7", "dice", "a")]
    assert v7["images"] == 30 and v7["ci_low"] < v7["mean"] < v7["ci_high"]
    assert abs(v7["mean"] - 0.95) < 0.01
    # the best member differs by source; the verdicts follow the planted gaps
    gap = summary.xs("ensemble - best member", level="comparison")
    assert gap.index.tolist() == [("jsrt", "b"), ("v7", "a")]
    assert gap.loc[("v7", "a"), "verdict"] == "holds"
    assert gap.loc[("jsrt", "b"), "verdict"] == "reversed"
    assert abs(gap.loc[("jsrt", "b"), "mean"] + 0.03) < 1e-9
