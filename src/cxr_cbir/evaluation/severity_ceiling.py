"""How well must a severity readout correlate with the graded score to reach a given nDCG?

On the real films the best method ranks the severity catalogues at nDCG@10 ~0.74 against
a chance level of 0.698, and the severity readout (``cnn_sev``) predicts the held-out
scores with Pearson r ~0.55. This stage turns "how far is that from a good ranking" into
a measured curve. For each study graded by a score (a condition's severity column, or the
first rater's total in a rater study), it simulates readouts that correlate with the
score at r = 0.5 ... 1.0: standardised score x r + independent N(0, 1) noise x sqrt(1 -
r^2), seeded. Every catalogue is ranked by distance of the simulated readout to the
query's, exactly as ``cnn_sev`` ranks by its predicted severity, and scored with nDCG@k
against the catalogue's first rater. The mean over ``draws`` readouts, its spread over
draws, the correlation the draws achieved and the exact chance level are tabulated:
nDCG as a function of how well a model reads the score.

r = 1 is a perfect readout of the score itself; it falls short of 1.0 only where the
truth breaks ties by another column (a tiebreak score or zone profile), or where the
truth is another rater's score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.data.catalogues import catalogue_table, rater_order
from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.ndcg import expected_random_ndcg, tied_relevance
from cxr_cbir.retrieval.severity_readout import severity_targets

CEILING_COLUMNS = ["study", "k", "r", "ndcg", "sd", "achieved_r", "chance", "queries", "draws"]


def study_scores(cohort: pd.DataFrame, column: str, negatives_zero: bool) -> pd.Series:
    """The score a study's truth is graded by, indexed by image_id (NaN where unknown)."""
    return severity_targets(cohort, column, negatives_zero, where="severity ceiling")


class Catalogues:
    """Catalogues as arrays: candidates (Q, n) and query (Q,) as rows of ``films``, and the
    relevance of each candidate under the first rater's ranking."""

    def __init__(self, rankings: pd.DataFrame, where: str = "severity ceiling"):
        truth = rankings[rankings["rater"] == rater_order(rankings)[0]]
        cats = catalogue_table(truth)
        sizes = cats.groupby("query_id").size()
        if sizes.nunique() != 1:
            raise InputError(f"{where}: catalogues of different sizes {sorted(set(sizes))}")
        self.n = int(sizes.iloc[0])
        self.queries = list(sizes.index)
        films = sorted(set(cats["image_id"]) | set(self.queries))
        self.films = np.asarray(films, dtype=str)
        row = {f: i for i, f in enumerate(films)}
        rank = truth.set_index(["query_id", "image_id"])["rank"]
        cand, rel, ranks = [], [], []
        for q in self.queries:
            # by image id, not in the truth's order: equal readouts tie-break neutrally
            ids = np.sort(cats.loc[cats["query_id"] == q, "image_id"].to_numpy(dtype=str))
            cand.append([row[i] for i in ids])
            ranks.append(rank.loc[[(q, i) for i in ids]].to_numpy(int))
            rel.append(tied_relevance(ranks[-1], self.n))
        self.candidates = np.asarray(cand)
        self.query_rows = np.asarray([row[q] for q in self.queries])
        self.gains = np.power(2.0, np.asarray(rel, float)) - 1.0
        self.ranks = ranks

    def chance(self, k: int) -> float:
        """The exact chance level of nDCG@k, averaged over the catalogues (ties kept)."""
        return float(np.mean([expected_random_ndcg(self.n, k, r) for r in self.ranks]))

    def ndcg(self, values: np.ndarray, k: int) -> np.ndarray:
        """nDCG@k of each catalogue ranked by |value - query's value| (values per film)."""
        dist = np.abs(values[self.candidates] - values[self.query_rows][:, None])
        order = np.argsort(dist, axis=1, kind="stable")
        k = min(k, self.n)
        disc = 1.0 / np.log2(np.arange(2, k + 2))
        got = np.take_along_axis(self.gains, order, axis=1)[:, :k] @ disc
        ideal = -np.sort(-self.gains, axis=1)[:, :k] @ disc
        return got / ideal


def ceiling_table(
    study: str,
    rankings: pd.DataFrame,
    scores: pd.Series,
    ks: list[int],
    r_grid,
    draws: int,
    seed: int = 0,
) -> pd.DataFrame:
    """nDCG@k of simulated readouts that correlate with ``scores`` at each r of the grid.

    Catalogues holding a film without a score are left out (``queries`` counts the rest).
    """
    where = f"severity ceiling of {study!r}"
    # a catalogue (e.g. of a radiologist's CSV) with a film the score does not cover
    # cannot be simulated: it is left out, and ``queries`` counts the ones kept
    scored = set(scores.index[np.isfinite(scores.to_numpy(float))])
    films = rankings.groupby("query_id")["image_id"].agg(set)
    keep = [q for q, ids in films.items() if q in scored and ids <= scored]
    if not keep:
        unscored = sorted(set(rankings["image_id"]) - scored)[:3]
        raise InputError(f"{where}: no catalogue has a score for every film, e.g. {unscored}")
    cats = Catalogues(rankings[rankings["query_id"].isin(keep)], where=where)
    s = scores.reindex(cats.films).to_numpy(float)
    if np.ptp(s) == 0:
        raise InputError(f"{where}: every catalogue film has one score")
    z = (s - s.mean()) / s.std()
    n_queries = len(cats.queries)
    rows = []
    for r in r_grid:
        rng = np.random.default_rng([seed, int(round(r * 1000))])
        noise = rng.standard_normal((draws, len(z)))
        sims = r * z + np.sqrt(max(1.0 - r * r, 0.0)) * noise
        achieved = float(np.mean([np.corrcoef(v, s)[0, 1] for v in sims]))
        for k in ks:
            means = np.array([cats.ndcg(v, k).mean() for v in sims])
            sd = means.std(ddof=1) if draws > 1 else 0.0
            chance = cats.chance(k)
            rows.append(
                (study, int(k), float(r), means.mean(), sd, achieved, chance, n_queries, draws)
            )
    return pd.DataFrame(rows, columns=CEILING_COLUMNS)


def ceiling_figure(table: pd.DataFrame, path: str) -> None:
    """nDCG@k of the simulated readouts against their correlation r, one line per study.

    Drawn here rather than in ``figures``, which every training job imports: a change to
    this figure reruns only this stage.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cxr_cbir.io_utils import atomic_path

    ks = sorted(table["k"].unique(), reverse=True)
    fig, axes = plt.subplots(1, len(ks), figsize=(4.6 * len(ks), 3.6), squeeze=False)
    for ax, k in zip(axes[0], ks, strict=True):
        sub = table[table["k"] == k]
        for study, g in sub.groupby("study", sort=True):
            g = g.sort_values("r")
            line = ax.plot(g["r"], g["ndcg"], marker="o", label=study)[0]
            low, high = g["ndcg"] - g["sd"], g["ndcg"] + g["sd"]
            ax.fill_between(g["r"], low, high, color=line.get_color(), alpha=0.2)
        ax.axhline(sub["chance"].iloc[0], ls="--", color="grey", label="chance (exact)")
        ax.set_xlabel("Pearson r of the readout with the graded score")
        ax.set_ylabel(f"mean nDCG@{k}")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()

    def _write(tmp: str) -> None:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")

    atomic_path(path, _write)
    plt.close(fig)
