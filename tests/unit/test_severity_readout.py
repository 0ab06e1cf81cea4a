"""The cnn_sev severity readout: fitted on scored train/validate films only, and it ranks
catalogues by severity where raw features rank by something else."""

import numpy as np
import pandas as pd
import pytest

from cxr_cbir.data.catalogues import rank_by_severity, sample_catalogues
from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.ndcg_tables import ndcg_table, summarise
from cxr_cbir.retrieval.ranking import rank_by_distance
from cxr_cbir.retrieval.severity_readout import (
    apply_readout,
    fit_readout,
    readout_for_cohort,
    severity_targets,
)


def _cohort(n=240, seed=0):
    """Films whose 64-d features hold severity along one direction, buried under 20
    directions of larger nuisance variation (view, exposure, ... in real films)."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.6).astype(int)
    sev = np.where(label == 1, rng.uniform(1, 8, n), 0.0)
    x = rng.normal(0, 0.2, (n, 64))
    x[:, :20] += rng.normal(0, 3.0, (n, 20))
    x[:, 40] += sev / 2
    n_train, n_val = n * 5 // 8, n // 8
    split = np.array(["train"] * n_train + ["validate"] * n_val + ["test"] * (n - n_train - n_val))
    cohort = pd.DataFrame(
        {
            "image_id": [f"f{i:03d}" for i in range(n)],
            "split": split,
            "label": label,
            # negatives carry no score: negatives_zero grades them 0
            "severity": np.where(label == 1, sev, np.nan),
        }
    )
    return cohort, x, sev


def test_targets_grade_unscored_negatives_zero_only_when_asked():
    cohort, _, _ = _cohort(20)
    plain = severity_targets(cohort, "severity", negatives_zero=False)
    zero = severity_targets(cohort, "severity", negatives_zero=True)
    neg = cohort["label"].to_numpy() == 0
    assert plain[neg].isna().all() and (zero[neg] == 0).all()
    assert np.allclose(plain[~neg], zero[~neg])
    with pytest.raises(InputError, match="'brixia' is not in the cohort"):
        severity_targets(cohort, "brixia", negatives_zero=False)


def test_readout_never_sees_test_scores():
    cohort, x, _ = _cohort()
    ids = cohort["image_id"].to_numpy()
    params, _, _ = readout_for_cohort(ids, x, cohort, "severity", True)
    scrambled = cohort.copy()
    test = scrambled["split"] == "test"
    scrambled.loc[test, "severity"] = 100.0 - scrambled.loc[test, "severity"]
    again, _, fit = readout_for_cohort(ids, x, scrambled, "severity", True)
    assert np.array_equal(params["coef"], again["coef"])
    assert list(fit["split"]) == ["train", "validate", "test"]
    assert list(fit["films"]) == [150, 30, 60]


def test_readout_ranks_catalogues_by_severity_where_raw_features_do_not():
    cohort, x, sev = _cohort()
    ids = cohort["image_id"].to_numpy()
    params, pred, fit = readout_for_cohort(ids, x, cohort, "severity", True)
    assert fit.set_index("split").loc["test", "pearson_r"] > 0.9
    assert np.allclose(apply_readout(params, x), pred) and pred.shape == (len(ids), 1)

    test = cohort[cohort["split"] == "test"]
    cats = sample_catalogues(test[["image_id", "label"]], n_queries=20, size=10, seed=0)
    truth = rank_by_severity(cats, pd.Series(sev, index=ids))
    tables = {
        "raw": rank_by_distance(cats, ids.tolist(), x),
        "readout": rank_by_distance(cats, ids.tolist(), pred),
    }
    means = summarise(ndcg_table("c", truth, tables, [10])).set_index("method")["mean"]
    assert means["readout"] > 0.9
    assert means["readout"] > means["raw"] + 0.1
    assert means["raw"] < means["random"] + 0.08


def test_readout_refuses_too_few_or_constant_scores():
    with pytest.raises(InputError, match="3 training/validation films"):
        fit_readout(np.zeros((3, 4)), np.arange(3.0))
    with pytest.raises(InputError, match="the same score"):
        fit_readout(np.random.default_rng(0).normal(size=(20, 4)), np.ones(20))
