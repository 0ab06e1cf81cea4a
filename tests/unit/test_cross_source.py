"""Cross-source evaluation: held-out sources leave every split the models see, and a model
that learned the source separates test films but not the films of an unseen source."""

import numpy as np
import pandas as pd
import pytest

from cxr_cbir.data.source_holdout import EXTERNAL, hold_out_sources
from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.cross_source import (
    COLUMNS,
    embedding_rows,
    head_probability,
    knn_positive_share,
    severity_rows,
)
from cxr_cbir.evaluation.severity import agreement_table


def test_held_out_sources_get_the_external_split_only():
    table = pd.DataFrame(
        {"source": ["a", "b", "c", "b"], "split": ["train", "test", "validate", "train"]}
    )
    out = hold_out_sources(table, "source", ["b"])
    assert out["split"].tolist() == ["train", EXTERNAL, "validate", EXTERNAL]
    with pytest.raises(InputError, match=r"\['z'\] not found in column 'source'"):
        hold_out_sources(table, "source", ["z"])
    with pytest.raises(InputError, match="'site' is not a manifest column"):
        hold_out_sources(table, "site", ["b"])


def test_knn_share_and_head_probability():
    train = np.array([[0.0], [1.0], [10.0]])
    share = knn_positive_share(train, [1, 1, 0], np.array([[0.1], [9.9]]), k=2)
    assert share[0] == pytest.approx(1.0) and share[1] < 0.15
    p = head_probability(np.array([[1.0, 2.0]]), np.array([[0.5, -0.25]]), np.array([0.0]))
    assert p == pytest.approx([0.5])


def _confounded(seed=0):
    """In-domain, positives come from source A and negatives from source B, and the
    embedding holds the source strongly and the disease weakly; the external source C
    has both classes, so only the disease direction can separate them."""
    rng = np.random.default_rng(seed)
    n = 400
    pos = (rng.random(n) < 0.5).astype(float)
    split = np.where(np.arange(n) < 300, "train", "test").astype(object)
    source = np.where(pos == 1, 1.0, -1.0)
    ext = np.arange(n) >= 350
    split[ext] = EXTERNAL
    source[ext] = 0.0  # a third source: neither A nor B
    vec = np.stack([5 * source, 0.3 * pos], 1) + rng.normal(0, 0.3, (n, 2))
    table = pd.DataFrame({"split": split, "positive": pos, "group": [f"p{i}" for i in range(n)]})
    return table, vec


def test_a_model_that_learned_the_source_fails_on_the_unseen_one():
    table, vec = _confounded()
    rows = embedding_rows(
        "covid", "cnn", table, vec, k=10, head=(np.array([[1.0, 0.0]]), np.zeros(1))
    )
    got = pd.DataFrame(rows, columns=COLUMNS).set_index(["metric", "split"])
    got = got.rename(columns={"ci_low": "lo", "ci_high": "hi"})
    assert got.loc[("knn_auc", "test"), "value"] > 0.95  # the source separates the test films
    assert got.loc[("knn_auc", EXTERNAL), "value"] < 0.8  # not the unseen source's
    assert got.loc[("disease_auc", "test"), "value"] > 0.95
    assert got.loc[("disease_auc", EXTERNAL), "lo"] < 0.65  # a head reading the source
    assert got.loc[("knn_auc", EXTERNAL), "films"] == 50
    assert got.loc[("knn_auc", "test"), "lo"] <= got.loc[("knn_auc", "test"), "value"]


def test_severity_r_on_test_and_external_films():
    rng = np.random.default_rng(0)
    score = rng.uniform(0, 8, 60)
    preds = pd.DataFrame(
        {
            "image_id": [f"f{i}" for i in range(60)],
            "group": [f"p{i}" for i in range(60)],
            "split": ["test"] * 30 + [EXTERNAL] * 30,
            "target": "geo",
            "score": score,
            "predicted": np.r_[score[:30] + rng.normal(0, 0.5, 30), rng.uniform(0, 8, 30)],
        }
    )
    # the r of evaluation/severity.csv, carried over (other methods' rows left out)
    agreement = pd.concat(
        [agreement_table(preds, "covid", "sev"), agreement_table(preds, "covid", "cnn_sev")]
    )
    rows = {r[3]: r for r in severity_rows(agreement, "covid", "sev", "geo")}
    assert rows["test"][6] > 0.9 and abs(rows[EXTERNAL][6]) < 0.5
    assert rows["test"][2] == "severity_r" and rows[EXTERNAL][4] == 30
    row = agreement[(agreement["method"] == "sev") & (agreement["split"] == "test")].iloc[0]
    assert rows["test"][6:] == [row.pearson_r, row.r_low, row.r_high]
