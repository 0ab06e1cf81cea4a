"""The severity ceiling: nDCG of simulated readouts that correlate with the graded score
at a chosen r, on constructed catalogues where the answer is known."""

import numpy as np
import pandas as pd
import pytest

from cxr_cbir.data.catalogues import rank_by_severity, sample_catalogues
from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.ndcg import expected_random_ndcg
from cxr_cbir.evaluation.ndcg_tables import ndcg_table
from cxr_cbir.evaluation.severity_ceiling import Catalogues, ceiling_table, study_scores
from cxr_cbir.retrieval.ranking import rank_by_distance


def _study(n_films=120, n_queries=60, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.array([f"f{i:03d}" for i in range(n_films)])
    score = pd.Series(rng.uniform(0, 8, n_films), index=ids)  # distinct: no ties
    pool = pd.DataFrame({"image_id": ids, "label": (score > 4).astype(int).to_numpy()})
    cats = sample_catalogues(pool, n_queries=n_queries, size=10, seed=seed)
    return rank_by_severity(cats, score), score


def test_vectorised_ndcg_equals_the_workflow_scorer():
    truth, score = _study()
    values = score.to_numpy() + np.random.default_rng(1).normal(0, 2, len(score))
    ranked = rank_by_distance(
        truth[["query_id", "image_id"]].drop_duplicates(), list(score.index), values[:, None]
    )
    slow = ndcg_table("s", truth, {"m": ranked}, [10, 3], chance=None)
    cats = Catalogues(truth)
    by_film = pd.Series(values, index=score.index).reindex(cats.films).to_numpy()
    for k in (10, 3):
        fast = pd.Series(cats.ndcg(by_film, k), index=cats.queries)
        want = slow[slow["k"] == k].set_index("query_id")["ndcg"].reindex(cats.queries)
        assert np.allclose(fast.to_numpy(), want.to_numpy(), atol=1e-12), k


def test_ceiling_rises_with_r_from_chance_to_perfect():
    truth, score = _study()
    table = ceiling_table("s", truth, score, [10], r_grid=(0.0, 0.5, 0.8, 0.95, 1.0), draws=30)
    at = table.set_index("r")
    # a readout of the score itself ranks every catalogue as the rater does
    assert at.loc[1.0, "ndcg"] == pytest.approx(1.0) and at.loc[1.0, "sd"] == 0
    # no correlation: chance, whose exact level the table carries
    assert at.loc[0.0, "chance"] == pytest.approx(expected_random_ndcg(10, 10))
    assert abs(at.loc[0.0, "ndcg"] - at.loc[0.0, "chance"]) < 0.02
    assert np.all(np.diff(at["ndcg"].to_numpy()) > 0), at["ndcg"]
    assert np.allclose(at["achieved_r"], at.index, atol=0.05)
    assert (table["queries"] == 60).all() and (table["draws"] == 30).all()
    # seeded: the same table again
    again = ceiling_table("s", truth, score, [10], r_grid=(0.0, 0.5, 0.8, 0.95, 1.0), draws=30)
    pd.testing.assert_frame_equal(table, again)


def test_ceiling_leaves_out_catalogues_with_unscored_films():
    truth, score = _study()
    # a catalogue holding an unscored film is left out, the others kept
    film = truth["image_id"].iloc[3]
    holding = set(truth.loc[truth["image_id"] == film, "query_id"]) | {film}
    part = ceiling_table("s", truth, score.drop(film), [10], r_grid=(1.0,), draws=2)
    assert part["queries"].iloc[0] == truth["query_id"].nunique() - len(
        holding & set(truth["query_id"])
    )
    assert part["ndcg"].iloc[0] == pytest.approx(1.0)
    with pytest.raises(InputError, match="no catalogue has a score for every film"):
        ceiling_table("s", truth, score.iloc[:0], [10], r_grid=(1.0,), draws=2)
    cohort = pd.DataFrame({"image_id": ["a"], "label": [0]})
    with pytest.raises(InputError, match="'sev' is not in the cohort"):
        study_scores(cohort, "sev", True)
    # negatives without a score count as 0 when the study says so
    cohort = pd.DataFrame({"image_id": ["a", "b"], "label": [0, 1], "sev": [None, 3.0]})
    assert study_scores(cohort, "sev", True).tolist() == [0.0, 3.0]
