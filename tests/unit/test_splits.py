"""Group splits never let a group straddle two splits; official splits are checked."""

import numpy as np
import pandas as pd
import pytest

from cxr_cbir.data.splits import assign_splits
from cxr_cbir.errors import InputError


def _manifest(n_groups=200, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        label = "covid" if g % 4 else "control"
        for _ in range(int(rng.integers(1, 4))):
            rows.append(
                {
                    "image_id": f"i{len(rows)}",
                    "group": f"g{g}",
                    "label_3class": label,
                    "split_official": "",
                }
            )
    return pd.DataFrame(rows)


def test_group_split_is_disjoint_stratified_and_seeded():
    m = _manifest()
    fr = {"train": 0.6, "validate": 0.15, "test": 0.25}
    a = assign_splits(m, "group", fr, seed=3, stratify="label_3class")
    assert (a.groupby("group")["split"].nunique() == 1).all()
    per_group = a.drop_duplicates("group")
    for _, g in per_group.groupby("label_3class"):
        share = (g["split"] == "test").mean()
        assert share == pytest.approx(0.25, abs=0.03)
    assert a["split"].equals(assign_splits(m, "group", fr, 3, "label_3class")["split"])
    assert not a["split"].equals(assign_splits(m, "group", fr, 4, "label_3class")["split"])


def test_official_split_requires_values():
    m = _manifest(3)
    with pytest.raises(InputError, match="has split ''"):
        assign_splits(m, "official", {}, 0)
