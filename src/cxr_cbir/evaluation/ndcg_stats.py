"""Intervals and paired tests of per-query nDCG (``evaluation/ndcg.csv``).

``ndcg_ci.csv``: each method's mean nDCG@k with a 95 % bootstrap interval over queries.
``paired.csv``: each method against each baseline (``random``, ``ssim``, ``cnn``),
paired by query: bootstrap interval of the mean difference and Wilcoxon signed-rank p.
"""

from __future__ import annotations

import pandas as pd

from cxr_cbir.evaluation.intervals import bootstrap_mean, paired_difference

CI_COLUMNS = ["condition", "method", "k", "mean", "ci_low", "ci_high", "n"]
PAIRED_COLUMNS = [
    "condition",
    "k",
    "method",
    "baseline",
    "mean_diff",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
]
BASELINES = ("random", "ssim", "cnn")


def ndcg_intervals(ndcg: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rows = []
    for (condition, method, k), g in ndcg.groupby(["condition", "method", "k"], sort=False):
        mean, low, high = bootstrap_mean(g["ndcg"].to_numpy(), seed=seed)
        rows.append((condition, method, int(k), mean, low, high, len(g)))
    out = pd.DataFrame(rows, columns=CI_COLUMNS)
    return out.sort_values(["condition", "k", "mean"], ascending=[True, False, False])


def per_query(ndcg: pd.DataFrame, condition: str, k: int) -> pd.DataFrame:
    """query x method matrix of nDCG@k for one condition (queries sorted by id)."""
    part = ndcg[(ndcg["condition"] == condition) & (ndcg["k"] == k)]
    return part.pivot(index="query_id", columns="method", values="ndcg").sort_index()


def compare(
    ndcg: pd.DataFrame, condition: str, k: int, method: str, baseline: str, seed: int = 0
) -> tuple[float, float, float, float, int]:
    """(mean_diff, ci_low, ci_high, p_value, n) of ``method`` - ``baseline``, by query."""
    table = per_query(ndcg, condition, k)
    for name in (method, baseline):
        if name not in table.columns:
            raise KeyError(f"{condition}: no nDCG@{k} rows for method {name!r}")
    pair = table[[method, baseline]].dropna()
    diff = paired_difference(pair[method], pair[baseline], seed=seed)
    return (*diff, len(pair))


def paired_table(ndcg: pd.DataFrame, baselines=BASELINES, seed: int = 0) -> pd.DataFrame:
    """Every method (raters included) against every baseline present, per condition and k."""
    rows = []
    for (condition, k), g in ndcg.groupby(["condition", "k"], sort=False):
        methods = list(dict.fromkeys(g["method"]))
        for baseline in (b for b in baselines if b in methods):
            for method in methods:
                if method == baseline:
                    continue
                rows.append(
                    (condition, int(k), method, baseline)
                    + compare(ndcg, condition, int(k), method, baseline, seed)
                )
    return pd.DataFrame(rows, columns=PAIRED_COLUMNS)
