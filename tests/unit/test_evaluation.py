"""Intervals, paired tests and verdicts: by hand, and on the tiny end-to-end run."""

import numpy as np
import pandas as pd
import pytest

from cxr_cbir.evaluation.intervals import (
    bootstrap_mean,
    cluster_bootstrap_statistic,
    paired_difference,
    verdict,
)
from cxr_cbir.evaluation.ndcg_stats import ndcg_intervals, paired_table
from cxr_cbir.evaluation.verdicts import CLAIMS, verdict_table


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = rng.normal(0.7, 0.1, 12)
    large = rng.normal(0.7, 0.1, 400)
    m, lo, hi = bootstrap_mean(small, seed=1)
    assert lo < m < hi and m == pytest.approx(small.mean())
    # the percentile interval is about mean +- 1.96 sd / sqrt(n)
    assert hi - lo == pytest.approx(2 * 1.96 * small.std() / np.sqrt(12), rel=0.2)
    _, lo2, hi2 = bootstrap_mean(large, seed=1)
    assert hi2 - lo2 < (hi - lo) / 3
    assert bootstrap_mean(small, seed=1) == bootstrap_mean(small, seed=1)  # seeded


def test_paired_difference_sees_a_shift_hidden_by_query_spread():
    rng = np.random.default_rng(2)
    base = rng.uniform(0.4, 0.95, 30)  # queries differ a lot in difficulty
    better = base + 0.02 + rng.normal(0, 0.005, 30)
    mean, lo, hi, p = paired_difference(better, base, seed=0)
    assert mean == pytest.approx(0.02, abs=0.003) and lo > 0 and p < 1e-4
    assert verdict(lo, hi) == "holds"
    mean, lo, hi, p = paired_difference(base, better, seed=0)
    assert verdict(lo, hi) == "reversed"
    noise = base + rng.normal(0, 0.05, 30)
    assert verdict(*paired_difference(noise, base, seed=0)[1:3]) == "unresolved"
    assert paired_difference(base, base)[3] == 1.0


def test_cluster_bootstrap_moves_whole_patients():
    clusters = np.array(["a", "a", "a", "b", "c"])
    seen = []

    def stat(rows):
        seen.append(rows)
        return float(len(rows))

    point, low, high = cluster_bootstrap_statistic(stat, clusters, n_boot=50, seed=0)
    # once on all rows, then once per resample of the 3 patients
    assert len(seen) == 51 and point == 5.0 and sorted(seen[0]) == [0, 1, 2, 3, 4]
    counts = [np.isin(rows, [0, 1, 2]).sum() for rows in seen[1:]]
    # rows 0-2 (patient a) always come together: 0, 3, 6 or 9 of them, never 1 or 2
    assert all(c % 3 == 0 for c in counts) and len(set(counts)) > 1
    # a resample draws 3 patients: 3 to 9 rows, so the interval of the row count is too
    sizes = [len(rows) for rows in seen[1:]]
    assert min(sizes) >= 3 and max(sizes) <= 9 and 3 <= low < high <= 9


def _ndcg_rows():
    rng = np.random.default_rng(0)
    rows = []
    for q in range(25):
        base = rng.uniform(0.6, 0.8)
        values = {"random": base, "ssim": base + 0.01, "cnn": base + 0.05, "ig": base + 0.1}
        values |= {"att": base + 0.05 + rng.normal(0, 0.05), "cnn_ig": base - 0.03}
        for k in (10, 3):
            rows += [("c", m, f"q{q}", k, v + rng.normal(0, 0.002)) for m, v in values.items()]
    return pd.DataFrame(rows, columns=["condition", "method", "query_id", "k", "ndcg"])


def test_ndcg_tables_and_verdicts_by_construction():
    ndcg = _ndcg_rows()
    ci = ndcg_intervals(ndcg)
    assert list(ci.columns) == ["condition", "method", "k", "mean", "ci_low", "ci_high", "n"]
    assert (ci["n"] == 25).all() and (ci["ci_low"] < ci["mean"]).all()
    paired = paired_table(ndcg)
    assert set(paired["baseline"]) == {"random", "ssim", "cnn"}
    assert len(paired) == 2 * (5 + 5 + 5)  # k x (methods vs each baseline)
    row = paired.query("k == 10 and method == 'ig' and baseline == 'cnn'").iloc[0]
    assert row["mean_diff"] == pytest.approx(0.05, abs=0.002) and row["ci_low"] > 0
    v = verdict_table(ndcg)
    assert set(CLAIMS) == set(v["claim"])
    got = v[v["metric"] == "ndcg@10"].set_index(["claim", "method"])["verdict"]
    assert got[("IG > CNN", "ig")] == "holds"
    assert got[("CNN > SSIM", "cnn")] == "holds"
    assert got[("IG > CNN(IG)", "ig")] == "holds"
    # att is cnn plus noise of mean zero: the effusion order's middle link stays open
    assert got[("ATT > CNN", "att")] == "unresolved"
    att = ndcg[ndcg["method"] == "att"]
    worse = pd.concat([ndcg[ndcg["method"] != "att"], att.assign(ndcg=att["ndcg"] - 0.1)])
    flipped = verdict_table(worse).set_index(["claim", "metric"])["verdict"]
    assert flipped[("ATT > CNN", "ndcg@10")] == "reversed"
    assert got[("learned > random", "cnn_ig")] == "reversed"
    assert got[("SEV > CNN_SEV", "sev")] == "not run"  # neither severity method ran here
    # Zhong's claims have no data here: listed as not run, never dropped
    assert (v[v["claim"].str.startswith("DML")]["verdict"] == "not run").all()


def test_severity_model_against_readout_verdict():
    ndcg = _ndcg_rows()
    sev = ndcg[ndcg["method"] == "cnn"].assign(method="sev")
    readout = sev.assign(method="cnn_sev", ndcg=sev["ndcg"] - 0.04)
    v = verdict_table(pd.concat([ndcg, sev, readout], ignore_index=True))
    got = v[v["claim"] == "SEV > CNN_SEV"].set_index("metric")
    assert got.loc["ndcg@10", "verdict"] == "holds"
    assert got.loc["ndcg@10", "mean_diff"] == pytest.approx(0.04, abs=1e-9)
    flipped = pd.concat([ndcg, sev, readout.assign(ndcg=sev["ndcg"] + 0.04)], ignore_index=True)
    again = verdict_table(flipped)
    assert (again[again["claim"] == "SEV > CNN_SEV"]["verdict"] == "reversed").all()


def test_zhong_verdicts_from_per_film_tables():
    rng = np.random.default_rng(1)
    ids = [f"f{i}" for i in range(200)]
    dml = (rng.random(200) < 0.8).astype(float)
    ce = (rng.random(200) < 0.5).astype(float)
    per_query = pd.concat(
        [
            pd.DataFrame({"model": m, "image_id": ids, "class": "x", "metric": metric, "value": v})
            for m, v in (("dml", dml), ("ce", ce))
            for metric in ("recall@1", "knn")
        ]
    )
    dice = pd.concat(
        [
            pd.DataFrame({"member": m, "image": ids[:40], "dice": d})
            for m, d in (
                ("a", np.full(40, 0.90)),
                ("b", np.full(40, 0.92)),
                ("ensemble", 0.93 + rng.normal(0, 0.002, 40)),
            )
        ]
    )
    y = np.tile([0, 1], 60)
    clin = y * 0.2 + rng.random(120)
    preds = pd.concat(
        [
            pd.DataFrame(
                {
                    "features": f,
                    "fold": 0,
                    "image_id": ids[:120],
                    "group": [f"p{i // 2}" for i in range(120)],
                    "y": y,
                    "p": p,
                }
            )
            for f, p in (("clinical", clin), ("image+clinical", clin + y * 0.5))
        ]
    )
    v = verdict_table(_ndcg_rows(), per_query, dice, preds).set_index("claim")
    assert v.loc["DML > CE (recall@1)", "verdict"] == "holds"
    assert v.loc["DML > CE (KNN accuracy)", "verdict"] == "holds"
    assert v.loc["ensemble Dice > best member", "baseline"] == "b"
    assert v.loc["ensemble Dice > best member", "verdict"] == "holds"
    assert v.loc["image+clinical > clinical (AUC)", "verdict"] == "holds"


# ---- the tiny end-to-end run -------------------------------------------------------


def test_classifier_auc_intervals_resample_patients():
    from cxr_cbir.evaluation.classification_ci import auc_intervals
    from cxr_cbir.report.front_page import classifier_rows

    rng = np.random.default_rng(0)
    n = 60
    labels = np.arange(n) % 2
    perfect = pd.DataFrame(
        {
            "condition": "c",
            "model": "cnn",
            "split": "test",
            "label": labels,
            "prob": labels * 0.5 + 0.25,
            "group": np.arange(n) // 2,
        }
    )
    noise = perfect.assign(model="ig", prob=rng.random(n))
    table = auc_intervals(pd.concat([perfect, noise]), seed=0).set_index("model")
    assert table.loc["cnn", ["auc", "ci_low", "ci_high"]].tolist() == [1.0, 1.0, 1.0]
    assert table.loc["ig", "ci_low"] < 0.5 < table.loc["ig", "ci_high"]
    assert table.loc["ig", "n"] == n
    text = classifier_rows(table.reset_index())
    assert "1.000 [1.000, 1.000]" in text and "test ROC AUC" in text


def test_rank_auc_equals_sklearn_with_ties_and_is_nan_for_one_class():
    from sklearn.metrics import roc_auc_score

    from cxr_cbir.evaluation.auc import rank_auc

    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 40)
        s = rng.integers(0, 6, 40) / 5.0  # many ties
        assert rank_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert rank_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert rank_auc([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert np.isnan(rank_auc([1, 1, 1], [0.1, 0.2, 0.3]))


def _verdicts(rows):
    cols = ["claim", "condition", "metric", "method", "baseline", "mean_diff", "verdict"]
    return pd.DataFrame(rows, columns=cols)


def test_verdict_draws_count_holds_over_runs(tmp_path, capsys):
    from cxr_cbir.app.cli import main
    from cxr_cbir.evaluation.verdict_draws import read_draws, tally

    a = ("learned > random", "effusion", "ndcg@10", "dml", "random")
    b = ("learned > random", "effusion", "ndcg@10", "cnn", "random")
    c = ("learned > random", "effusion", "ndcg@10", "cnn_sev", "random")
    draws = {
        "s1": [(*a, 0.04, "unresolved"), (*b, 0.12, "holds"), (*c, float("nan"), "not run")],
        "s2": [(*a, 0.07, "holds"), (*b, 0.09, "holds"), (*c, 0.2, "holds")],
        "s3": [(*a, -0.05, "reversed"), (*b, 0.10, "holds"), (*c, 0.3, "holds")],
    }
    for name, rows in draws.items():
        (tmp_path / name / "evaluation").mkdir(parents=True)
        _verdicts(rows).to_csv(tmp_path / name / "evaluation/verdicts.csv", index=False)
    table = tally(read_draws([tmp_path / n for n in draws])).set_index("method")
    assert table.loc["dml", ["draws", "holds", "unresolved", "reversed"]].tolist() == [3, 1, 1, 1]
    assert table.loc["cnn", ["holds", "unresolved", "reversed"]].tolist() == [3, 0, 0]
    # a method that did not run in one draw: counted in its own column
    assert table.loc["cnn_sev", ["draws", "holds", "not_run"]].tolist() == [3, 2, 1]
    assert table.loc["cnn_sev", "not_holding_in"] == str(tmp_path / "s1")
    assert table["not_run"].tolist() == [0, 0, 1]
    assert (table.loc["dml", "min_diff"], table.loc["dml", "max_diff"]) == (-0.05, 0.07)
    assert table.loc["dml", "not_holding_in"] == f"{tmp_path / 's1'} {tmp_path / 's3'}"
    assert table.loc["cnn", "not_holding_in"] == ""
    # the command prints the table and writes it
    out = tmp_path / "draws.csv"
    assert main(["draws", str(tmp_path / "s1"), str(tmp_path / "s2"), "--out", str(out)]) == 0
    assert pd.read_csv(out)["holds"].tolist() == [1, 2, 1]  # dml, cnn, cnn_sev in s1, s2
    assert "learned > random" in capsys.readouterr().out
    # a folder without a verdicts table is named, not skipped
    assert main(["draws", str(tmp_path / "s1"), str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}/evaluation/verdicts.csv" in capsys.readouterr().err


def test_front_page_says_what_relevant_means_per_catalogue_set():
    from cxr_cbir.report.front_page import relevance_text

    effusion = {
        "label": "finding_effusion",
        "severity": {"column": "finding_effusion", "ties": "shared"},
        "balanced_catalogues": True,
    }
    text = relevance_text("effusion", effusion)
    assert "no graded score" in text and "cannot show an order of severity" in text
    assert "share one rank" in text and "equal shares" in text
    covid = {"label": "covid", "severity": {"column": "severity_geographic", "tiebreak": "op"}}
    text = relevance_text("covid", covid)
    assert "closest ``severity_geographic``" in text and "then by ``op``" in text
    assert "lower image id" in text and "no graded score" not in text
    brixia = {"severity": {"raters": {"senior": {"column": "g", "profile": ["a", "b"]}}}}
    assert "as rater senior scored it then by the L1 distance" in relevance_text("b", brixia)
    assert "``r.csv``" in relevance_text("e", {"expert_rankings": "r.csv"})
