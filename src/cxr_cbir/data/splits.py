"""Train / validate / test assignment.

``official`` keeps the archive's own split (MIMIC-CXR-JPG ships one). ``group`` draws
a seeded split over ``group`` ids (patients, or patient + near-duplicate components),
stratified by a label column, so that no group ever straddles two splits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.errors import InputError

SPLITS = ("train", "validate", "test")


def official_split(manifest: pd.DataFrame) -> pd.Series:
    split = manifest["split_official"].fillna("").astype(str)
    bad = ~split.isin(SPLITS)
    if bad.any():
        row = manifest.loc[bad].iloc[0]
        raise InputError(
            f"split.method 'official': image {row['image_id']!r} has split "
            f"{row['split_official']!r}; expected one of {SPLITS} "
            "(use split.method 'group' for archives without a split)"
        )
    return split


def group_split(
    manifest: pd.DataFrame,
    fractions: dict[str, float],
    seed: int,
    stratify: str | None = None,
) -> pd.Series:
    """Assign each group to a split, stratified by the group's most frequent ``stratify`` value."""
    total = sum(fractions.values())
    names = [s for s in SPLITS if fractions.get(s, 0) > 0]
    shares = np.array([fractions[s] / total for s in names])
    groups = manifest[["group"]].copy()
    if stratify:
        groups["stratum"] = manifest[stratify].fillna("<missing>").astype(str)
        strata = groups.groupby("group")["stratum"].agg(lambda s: s.value_counts().index[0])
    else:
        strata = pd.Series("all", index=groups["group"].unique())
    rng = np.random.default_rng(seed)
    assign: dict[str, str] = {}
    for _, members in sorted(strata.groupby(strata).groups.items()):
        members = np.array(sorted(members))
        members = members[rng.permutation(len(members))]
        bounds = np.round(np.cumsum(shares) * len(members)).astype(int)
        start = 0
        for name, end in zip(names, bounds, strict=True):
            for g in members[start:end]:
                assign[g] = name
            start = end
    return manifest["group"].map(assign)


def assign_splits(
    manifest: pd.DataFrame, method: str, fractions: dict, seed: int, stratify: str | None = None
) -> pd.DataFrame:
    if method == "official":
        split = official_split(manifest)
    elif method == "group":
        split = group_split(manifest, fractions, seed, stratify)
    else:
        raise InputError(f"split.method: unknown method {method!r}; use 'official' or 'group'")
    return manifest.assign(split=split.to_numpy())
