"""How the members' probabilities are combined: equal weights, or weights chosen on the
validation pairs.

Averaging all five members equally lets the weaker ones pull the ensemble below its
best member on a source (held-out Dice per source, `dice_by_source`). Ensemble
selection (Caruana et al., ICML 2004) chooses the weights on the validation pairs the
members already keep aside to choose their epoch, never on the held-out pairs: starting
from no member, add (with replacement) the member whose addition most raises the mean
validation Dice of the weighted mean probability, and stop when no addition raises it.
The counts are the weights; a member never added gets 0.

The chosen weights are a table (``segmentation/ensemble.csv``: member, weight,
validation_dice, one row per member and one for the ensemble) read by every step that
segments: held-out Dice, the retrieval films' masks and the query command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cxr_cbir.segmentation.postprocess import clean_mask, dice, weighted_probs

STRATEGIES = ("mean", "selected")
ENSEMBLE = "ensemble"
COLUMNS = ["member", "weight", "validation_dice"]


def validation_dice(probs: np.ndarray, masks: np.ndarray, threshold: float, weights=None) -> float:
    """Mean Dice over films of the cleaned ensemble masks. ``probs`` (members, N, S, S)."""
    mean = weighted_probs(probs, weights)
    return float(
        np.mean([dice(clean_mask(p >= threshold), m) for p, m in zip(mean, masks, strict=True)])
    )


def select_weights(
    probs: np.ndarray, masks: np.ndarray, threshold: float = 0.5, max_rounds: int = 20
) -> np.ndarray:
    """Integer weights (members,) chosen greedily with replacement on validation films.

    ``probs`` (members, N, S, S): each member's probabilities of the validation films;
    ``masks`` (N, S, S) their manual masks. Ties go to the member listed first.
    """
    if len(probs) == 0 or probs.shape[1] == 0:
        raise ValueError("ensemble selection needs members and validation films")
    weights = np.zeros(len(probs), np.int64)
    best = -np.inf
    for _ in range(max_rounds):
        scores = []
        for m in range(len(probs)):
            trial = weights.copy()
            trial[m] += 1
            scores.append(validation_dice(probs, masks, threshold, trial))
        m = int(np.argmax(scores))
        if scores[m] <= best:
            break
        best = scores[m]
        weights[m] += 1
    return weights


def ensemble_table(
    members: list[str],
    probs: np.ndarray,
    masks: np.ndarray,
    strategy: str,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """The ensemble's weights (``strategy``: mean or selected) and the validation Dice
    of each member alone and of the weighted ensemble."""
    if strategy not in STRATEGIES:
        raise ValueError(f"segmentation.ensemble: {strategy!r} is not one of {STRATEGIES}")
    if len(members) != len(probs):
        raise ValueError(f"{len(members)} members but probabilities of {len(probs)}")
    if strategy == "mean":
        weights = np.ones(len(members), np.int64)
    else:
        weights = select_weights(probs, masks, threshold)
    rows = [
        (name, int(w), validation_dice(probs[m : m + 1], masks, threshold))
        for m, (name, w) in enumerate(zip(members, weights, strict=True))
    ]
    ens = validation_dice(probs, masks, threshold, ensemble_weights_arg(weights))
    rows.append((ENSEMBLE, int(weights.sum()), ens))
    return pd.DataFrame(rows, columns=COLUMNS)


def ensemble_weights_arg(weights) -> np.ndarray | None:
    """None when every weight is equal (the plain mean, bit for bit), else the weights."""
    w = np.asarray(weights)
    return None if (w == w[0]).all() else w


def read_weights(path: str | Path, members: list[str]) -> tuple[float, ...] | None:
    """The weights of ``members`` (in that order) from an ensemble table; None when they
    are all equal. Raises naming the file when a member is missing or the table is bad."""
    table = pd.read_csv(path)
    missing = set(COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    by_member = dict(zip(table["member"], table["weight"], strict=True))
    absent = [m for m in members if m not in by_member]
    if absent:
        raise ValueError(f"{path}: no weight for segmentation member(s) {absent}")
    weights = np.array([by_member[m] for m in members], dtype=np.float64)
    if (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"{path}: weights {weights.tolist()} must be >= 0 with a positive sum")
    chosen = ensemble_weights_arg(weights)
    return None if chosen is None else tuple(chosen.tolist())
