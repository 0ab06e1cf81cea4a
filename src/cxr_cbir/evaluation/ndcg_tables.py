"""Score every method's catalogue rankings with nDCG@k against the first rater.

Rows of the result (``evaluation/ndcg.csv``): condition, method, query_id, k, ndcg.
Retrieval methods appear under their own name, the other raters as ``rater:<name>``
(inter-rater agreement), and the chance baseline as ``random``: the exact mean nDCG@k
over all orders of each catalogue (``ndcg.expected_random_ndcg``), so that comparisons
with chance carry no random draw's own noise.
"""

from __future__ import annotations

import pandas as pd

from cxr_cbir.data.catalogues import rater_order
from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.ndcg import expected_random_ndcg, ndcg_at_k

NDCG_COLUMNS = ["condition", "method", "query_id", "k", "ndcg"]


def _ordered(df: pd.DataFrame) -> dict[str, list[str]]:
    return {q: _by_rank(g)["image_id"].tolist() for q, g in df.groupby("query_id")}


def _by_rank(g: pd.DataFrame) -> pd.DataFrame:
    """One catalogue best first; films of one (tied) rank by image id."""
    return g.sort_values(["rank", "image_id"], kind="stable")


def _truth(df: pd.DataFrame) -> dict[str, tuple[list[str], list[int]]]:
    """Per query: the ground truth's films best first and their (competition) ranks."""
    out = {}
    for q, g in df.groupby("query_id"):
        g = _by_rank(g)
        out[q] = (g["image_id"].tolist(), g["rank"].astype(int).tolist())
    return out


def ndcg_table(
    condition: str,
    rankings: pd.DataFrame,
    methods: dict[str, pd.DataFrame],
    ks: list[int],
    chance: str | None = "random",
) -> pd.DataFrame:
    """nDCG rows for every method ranking, every non-reference rater and chance.

    ``chance`` names the rows of the exact chance level of each catalogue (None: none);
    no ranking may be passed under that name.
    """
    if chance is not None and chance in methods:
        raise InputError(
            f"{condition}: {chance!r} is the exact chance level of each catalogue, "
            "computed here; it takes no ranking"
        )
    raters = rater_order(rankings)
    truth = _truth(rankings[rankings["rater"] == raters[0]])
    candidates = dict(methods)
    for r in raters[1:]:
        candidates[f"rater:{r}"] = rankings[rankings["rater"] == r]
    rows = []
    for method, table in candidates.items():
        ranked = _ordered(table)
        missing = set(truth) - set(ranked)
        if missing:
            raise InputError(f"{condition}/{method}: no ranking for queries {sorted(missing)[:5]}")
        for q, (gt, ranks) in truth.items():
            for k in ks:
                rows.append((condition, method, q, int(k), ndcg_at_k(ranked[q], gt, k, ranks)))
    if chance is not None:
        for q, (gt, ranks) in truth.items():
            rows += [
                (condition, chance, q, int(k), expected_random_ndcg(len(gt), k, ranks)) for k in ks
            ]
    return pd.DataFrame(rows, columns=NDCG_COLUMNS)


def summarise(ndcg: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and count of nDCG per condition, method and k."""
    g = ndcg.groupby(["condition", "method", "k"])["ndcg"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    return out.sort_values(["condition", "k", "mean"], ascending=[True, False, False])
