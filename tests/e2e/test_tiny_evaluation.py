"""The tiny run's evaluation tables, verdicts and report front page."""

from html import unescape

import numpy as np
import pandas as pd
import pytest

from cxr_cbir.evaluation.ndcg import expected_random_ndcg
from cxr_cbir.evaluation.severity_ceiling import CEILING_COLUMNS
from cxr_cbir.evaluation.verdicts import CLAIMS


@pytest.mark.slow
def test_tiny_run_intervals_paired_and_verdicts(tiny_run):
    out = tiny_run / "results/tiny"
    ci = pd.read_csv(out / "evaluation/ndcg_ci.csv")
    assert list(ci.columns) == ["condition", "method", "k", "mean", "ci_low", "ci_high", "n"]
    ndcg = pd.read_csv(out / "evaluation/ndcg.csv", dtype={"query_id": str})
    means = ndcg.groupby(["condition", "method", "k"])["ndcg"].mean()
    for r in ci.itertuples():
        assert r.mean == pytest.approx(means[(r.condition, r.method, r.k)], abs=1e-4)
        assert r.ci_low <= r.mean <= r.ci_high and r.n == 8
    # a rater with small noise beats chance: rater:R2 (noise sd 0.1) above `random`
    r2 = ci[ci["method"] == "rater:R2"].set_index(["condition", "k"])["mean"]
    rnd = ci[ci["method"] == "random"].set_index(["condition", "k"])["mean"]
    assert (r2 > rnd).all(), pd.concat({"R2": r2, "random": rnd}, axis=1)
    paired = pd.read_csv(out / "evaluation/paired.csv")
    # and the paired interval over the 8 queries excludes 0, in both conditions, at both k
    # (no network is involved: the expert CSVs and the random ranking are seeded)
    row = paired.query("method == 'rater:R2' and baseline == 'random'")
    assert len(row) == 4 and (row["ci_low"] > 0).all(), row
    assert set(paired["baseline"]) == {"random", "ssim", "cnn"}
    verdicts = pd.read_csv(out / "evaluation/verdicts.csv")
    assert set(verdicts["claim"]) == set(CLAIMS)
    assert set(verdicts["verdict"]) <= {"holds", "reversed", "unresolved"}  # all methods ran
    learned = verdicts[verdicts["claim"] == "learned > random"]
    assert set(learned["method"]) == {"cnn", "ig", "att", "cnn_ig", "cnn_sev", "sev", "dml", "ce"}
    recall = pd.read_csv(out / "retrieval/recall_ci.csv")
    assert list(recall.columns) == ["model", "class", "k", "recall", "ci_low", "ci_high", "n"]
    plain = pd.read_csv(out / "retrieval/recall_at_k.csv").set_index(["model", "class", "k"])
    for r in recall.itertuples():
        assert r.recall == pytest.approx(plain.loc[(r.model, r._2, r.k), "recall"], abs=1e-3)


@pytest.mark.slow
def test_tiny_random_rows_are_the_exact_chance_level(tiny_run):
    ndcg = pd.read_csv(tiny_run / "results/tiny/evaluation/ndcg.csv")
    chance = ndcg[ndcg["method"] == "random"]
    assert len(chance) == 2 * 8 * 2  # conditions x queries x k, catalogues of 6 films
    for k, g in chance.groupby("k"):
        assert np.allclose(g["ndcg"], expected_random_ndcg(6, int(k))), k


@pytest.mark.slow
def test_tiny_severity_ceiling(tiny_run):
    out = tiny_run / "results/tiny/evaluation"
    table = pd.read_csv(out / "severity_ceiling.csv")
    assert list(table.columns) == CEILING_COLUMNS
    assert set(table["study"]) == {"effusion", "pneumonia"}
    assert len(table) == 2 * 2 * 9  # studies x k x the default grid of r
    assert (table["queries"] == 8).all() and (table["draws"] == 20).all()
    for (study, k), g in table.groupby(["study", "k"]):
        g = g.set_index("r")
        # a perfect readout of the true severity agrees with the exact rater R1
        assert g.loc[1.0, "ndcg"] > 0.95, (study, k)
        assert g.loc[1.0, "ndcg"] > g.loc[0.5, "ndcg"] > g.loc[0.5, "chance"] - 0.05
        assert g["chance"].iloc[0] == pytest.approx(expected_random_ndcg(6, int(k)), abs=1e-4)
    assert (out / "severity_ceiling.png").stat().st_size > 10_000


@pytest.mark.slow
def test_tiny_catalogues_hold_no_film_of_the_query_patient(tiny_run):
    out = tiny_run / "results/tiny"
    manifest = pd.read_parquet(out / "data/manifest.parquet")
    group = manifest.set_index("image_id")["group"]
    for cond in ("effusion", "pneumonia"):
        expert = pd.read_csv(out / f"catalogues/{cond}/expert_rankings.csv", dtype=str)
        assert (expert["image_id"].map(group) != expert["query_id"].map(group)).all()


@pytest.mark.slow
def test_report_front_page_tells_this_run(tiny_run):
    html = unescape((tiny_run / "results/tiny/report.html").read_text(errors="ignore"))
    assert "Verdicts on the papers" in html and "nDCG@6 mean [95 % CI]" in html
    assert "rater (human ceiling)" in html and "SSIM as the only" not in html
    assert "Methods reproduced: SSIM" not in html
    # the severity models' held-out agreement, from this run's evaluation/severity.csv
    assert "Severity read by the models" in html and "Pearson r [95 % CI]" in html
    table = pd.read_csv(tiny_run / "results/tiny/evaluation/severity.csv")
    row = table[(table["method"] == "sev") & (table["split"] == "test")].iloc[0]
    assert f"{row.pearson_r:.3f} [{row.r_low:.3f}, {row.r_high:.3f}]" in html
