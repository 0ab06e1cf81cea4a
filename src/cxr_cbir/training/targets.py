"""Graded scores as training targets: the (N, K) table of a cohort's scores (NaN where a
film has none) and their standardisation on the training films. Shared by the severity
model (``sev``) and the classifiers' auxiliary severity head."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from cxr_cbir.errors import InputError


def target_matrix(cohort: pd.DataFrame, columns: list[str], negatives_zero: bool) -> np.ndarray:
    """(N, K) float64 scores of every cohort film, NaN where a film has no score.

    Column 0 is the primary target; with ``negatives_zero`` a film without the condition
    (label 0) counts as 0 on every target (a control has no extent of disease).
    """
    missing = [c for c in columns if c not in cohort.columns]
    if missing:
        raise InputError(
            f"severity model: target columns {missing} are not in the cohort; "
            f"available: {sorted(cohort.columns)}"
        )
    y = np.stack([pd.to_numeric(cohort[c], errors="coerce").to_numpy(float) for c in columns], 1)
    if negatives_zero:
        neg = (cohort["label"].to_numpy() == 0)[:, None]
        y = np.where(np.isnan(y) & neg, 0.0, y)
    return y


class TargetScaler:
    """Per-target standardisation from the training films' finite scores."""

    def __init__(self, y: np.ndarray) -> None:
        self.mean = np.array([np.nanmean(c) if np.isfinite(c).any() else 0.0 for c in y.T])
        sd = np.array([np.nanstd(c) if np.isfinite(c).sum() > 1 else 1.0 for c in y.T])
        self.scale = np.where(sd > 1e-8, sd, 1.0)

    def forward(self, y: np.ndarray) -> np.ndarray:
        return (y - self.mean) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z * self.scale + self.mean

    def calibrate(self, z: np.ndarray, y: np.ndarray, min_films: int = 3) -> np.ndarray:
        """Shift each target's predictions by the median of ``y - inverse(z)`` over the
        (validation) films scored on it (0 with fewer than ``min_films``): the offset
        that minimises their absolute error. r and every ranking are unchanged. The kept
        epoch is chosen by r alone, and one that correlates well can sit off by a
        constant (covid, 2026-12-07: validation MAE 2.04 at the kept epoch, 1.29 at the
        next). Returns the offsets, added to ``mean``."""
        residual = y - self.inverse(z)
        ok = np.isfinite(residual)
        offsets = np.array(
            [
                np.median(r[m]) if m.sum() >= min_films else 0.0
                for r, m in zip(residual.T, ok.T, strict=True)
            ]
        )
        self.mean = self.mean + offsets
        return offsets


def masked_mse(pred: torch.Tensor, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the (film, target) entries a film has (``mask`` 1)."""
    return ((pred.float() - z) ** 2 * mask).sum() / mask.sum().clamp(min=1.0)
