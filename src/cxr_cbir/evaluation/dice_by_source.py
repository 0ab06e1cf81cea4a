"""Held-out Dice per source: lung masks of two conventions are not one population.

V7's COVID-19 outlines include the lung behind the heart; Shenzhen's and JSRT's (SCR)
manual masks leave it out. One Dice over all held-out films hides a source where the
ensemble draws the other convention, so every member and the ensemble are scored per
source (the pair's ``dataset``): mean Dice with a patient bootstrap interval, and the
ensemble minus the source's best member, paired by film (the best member chosen on
the same held-out films, which favours the member: a conservative test).
"""

from __future__ import annotations

import pandas as pd

from cxr_cbir.evaluation.intervals import cluster_bootstrap_statistic, verdict

DICE_COLUMNS = ["source", "member", "image", "dice"]
SUMMARY_COLUMNS = [
    "source",
    "member",
    "comparison",
    "images",
    "mean",
    "ci_low",
    "ci_high",
    "verdict",
]


def dice_by_source(dice: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """``dice`` (member, image, dice) with each image's source (its pair's dataset)."""
    source = dict(zip(pairs["pair_id"], pairs["dataset"], strict=True))
    out = dice.assign(source=dice["image"].map(source))
    return out[DICE_COLUMNS].sort_values(["source", "member", "image"]).reset_index(drop=True)


def source_summary(table: pd.DataFrame, pairs: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per source: each member's mean Dice [interval], and ensemble - best member."""
    patient = dict(zip(pairs["pair_id"], pairs["patient"].astype(str), strict=True))
    rows = []
    for source, g in table.groupby("source", sort=True):
        wide = g.pivot(index="image", columns="member", values="dice")
        clusters = wide.index.map(patient).to_numpy()
        for member in wide.columns:
            v = wide[member].to_numpy(float)
            mean, lo, hi = cluster_bootstrap_statistic(
                lambda r, v=v: float(v[r].mean()), clusters, seed=seed
            )
            rows.append((source, member, "dice", len(v), mean, lo, hi, ""))
        members = wide.drop(columns="ensemble", errors="ignore")
        if "ensemble" in wide.columns and not members.empty:
            best = members.mean().idxmax()
            d = (wide["ensemble"] - wide[best]).to_numpy(float)
            mean, lo, hi = cluster_bootstrap_statistic(
                lambda r, d=d: float(d[r].mean()), clusters, seed=seed
            )
            rows.append(
                (source, best, "ensemble - best member", len(d), mean, lo, hi, verdict(lo, hi))
            )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
