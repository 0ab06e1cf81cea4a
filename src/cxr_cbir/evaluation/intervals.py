"""Bootstrap confidence intervals and paired tests over evaluation units (queries, films).

Every interval is a seeded percentile bootstrap (95 % by default) over the units the
metric was measured on: queries for nDCG and recall, held-out films for Dice, patients
for a cross-validated AUC. Paired comparisons resample the *same* units for both
methods, so the interval is that of the mean per-unit difference; the Wilcoxon
signed-rank p value tests the same pairs. A verdict follows from the interval alone:
``holds`` when it lies above 0, ``reversed`` when below, ``unresolved`` when it spans 0.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import wilcoxon

N_BOOT = 5000
LEVEL = 0.95


def _resample_index(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _percentile_interval(draws, level: float) -> tuple[float, float]:
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_mean(
    values, n_boot: int = N_BOOT, seed: int = 0, level: float = LEVEL
) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile bootstrap interval (nan for no values)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    means = v[_resample_index(v.size, n_boot, seed)].mean(axis=1)
    return (float(v.mean()), *_percentile_interval(means, level))


def paired_difference(
    a, b, n_boot: int = N_BOOT, seed: int = 0, level: float = LEVEL
) -> tuple[float, float, float, float]:
    """Mean of a - b over paired units, its bootstrap interval and the Wilcoxon p value.

    The p value is 1.0 when every difference is zero (nothing to test), nan for < 1 pair.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in shape: {a.shape} vs {b.shape}")
    diff = a - b
    mean, low, high = bootstrap_mean(diff, n_boot, seed, level)
    if diff.size == 0:
        p = float("nan")
    elif np.all(diff == 0):
        p = 1.0
    else:
        p = float(wilcoxon(diff, zero_method="zsplit").pvalue)
    return mean, low, high, p


def cluster_bootstrap_statistic(
    statistic, clusters, n_boot: int = 2000, seed: int = 0, level: float = LEVEL
) -> tuple[float, float, float]:
    """``statistic(rows)`` on all rows and its interval when whole clusters are resampled.

    ``statistic`` maps an index array of rows to a number (nan when undefined on that
    resample, e.g. an AUC of one class only: such draws are skipped). ``clusters`` gives
    each row's cluster (patient); rows of one cluster always travel together.
    """
    clusters = np.asarray(clusters)
    names, inverse = np.unique(clusters, return_inverse=True)
    members = [np.flatnonzero(inverse == i) for i in range(len(names))]
    point = float(statistic(np.arange(len(clusters))))
    draws = []
    for pick in _resample_index(len(names), n_boot, seed):
        value = statistic(np.concatenate([members[i] for i in pick]))
        if np.isfinite(value):
            draws.append(value)
    if not draws:
        return point, float("nan"), float("nan")
    return (point, *_percentile_interval(draws, level))


def verdict(ci_low: float, ci_high: float) -> str:
    """``holds`` (interval above 0), ``reversed`` (below 0) or ``unresolved``."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "unresolved"
    if ci_low > 0:
        return "holds"
    if ci_high < 0:
        return "reversed"
    return "unresolved"
