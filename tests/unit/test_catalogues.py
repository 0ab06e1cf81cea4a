"""Catalogue sampling, severity rankings and the expert-ranking CSV format."""

import pandas as pd
import pytest

from cxr_cbir.data.catalogues import (
    catalogue_table,
    catalogues_for_condition,
    rank_by_scores,
    rank_by_severity,
    rater_order,
    read_rankings,
    sample_catalogues,
)
from cxr_cbir.errors import InputError


def _pool(n_pos, n_neg):
    ids = [f"p{i:02d}" for i in range(n_pos)] + [f"n{i:02d}" for i in range(n_neg)]
    return pd.DataFrame({"image_id": ids, "label": [1] * n_pos + [0] * n_neg})


def test_sampling_keeps_class_proportions_and_distinct_queries():
    cats = sample_catalogues(_pool(30, 10), n_queries=8, size=8, seed=1)
    assert cats["query_id"].nunique() == 8
    for q, g in cats.groupby("query_id"):
        assert len(g) == 8 and q not in set(g["image_id"])
        assert g["image_id"].str.startswith("p").sum() == 6  # 30/40 of 8
    queries = cats["query_id"].unique()
    assert sum(q.startswith("p") for q in queries) == 6
    assert cats.equals(sample_catalogues(_pool(30, 10), n_queries=8, size=8, seed=1))


def test_catalogue_larger_than_test_split_is_refused():
    with pytest.raises(InputError, match="needs 10 images plus a query, but only 6"):
        sample_catalogues(_pool(3, 3), n_queries=2, size=10, seed=0)


def test_rank_by_severity_exact_and_noisy_raters():
    cats = pd.DataFrame({"query_id": "q", "image_id": ["a", "b", "c", "d"]})
    sev = pd.Series({"q": 0.5, "a": 0.0, "b": 0.45, "c": 0.9, "d": 0.6})
    r = rank_by_severity(cats, sev, raters={"R1": 0.0, "R2": 0.3}, seed=0)
    r1 = r[r["rater"] == "R1"].sort_values("rank")["image_id"].tolist()
    assert r1 == ["b", "d", "c", "a"]  # |0.05|, |0.1|, |0.4|, |0.5|
    assert rater_order(r) == ["R1", "R2"]
    assert sorted(r[r["rater"] == "R2"]["image_id"]) == ["a", "b", "c", "d"]


def test_tiebreak_orders_equal_severity():
    cats = pd.DataFrame({"query_id": "q", "image_id": ["a", "b"]})
    sev = pd.Series({"q": 3.0, "a": 3.0, "b": 3.0})
    tb = pd.Series({"q": 1.0, "a": 5.0, "b": 1.5})
    r = rank_by_severity(cats, sev, tb)
    assert r.sort_values("rank")["image_id"].tolist() == ["b", "a"]


def test_read_rankings_checks_ranks_and_image_sets(tmp_path):
    good = tmp_path / "r.csv"
    good.write_text("query_id,rater,image_id,rank\nq,R1,a,2\nq,R1,b,1\nq,R2,a,1\nq,R2,b,2\n")
    df = read_rankings(str(good))
    assert rater_order(df) == ["R1", "R2"]
    assert catalogue_table(df).to_dict("records") == [
        {"query_id": "q", "image_id": "a"},
        {"query_id": "q", "image_id": "b"},
    ]
    tied = tmp_path / "tied.csv"
    tied.write_text("query_id,rater,image_id,rank\nq,R1,a,1\nq,R1,b,1\nq,R1,c,3\n")
    assert read_rankings(str(tied))["rank"].tolist() == [1, 1, 3]
    for ranks in ([1, 3, 3], [2, 2, 3], [1, 1, 2], [1, 2, 4]):
        bad = tmp_path / "bad.csv"
        rows = "".join(f"q,R1,{i},{r}\n" for i, r in zip("abc", ranks, strict=True))
        bad.write_text("query_id,rater,image_id,rank\n" + rows)
        with pytest.raises(InputError, match="ranks must be 1..3"):
            read_rankings(str(bad))
    other = tmp_path / "other.csv"
    other.write_text("query_id,rater,image_id,rank\nq,R1,a,1\nq,R1,b,2\nq,R2,a,1\nq,R2,c,2\n")
    with pytest.raises(InputError, match="different image set"):
        read_rankings(str(other))
    cols = tmp_path / "cols.csv"
    cols.write_text("query,rater,image_id,position\n")
    with pytest.raises(InputError, match="'query_id', 'rank'"):
        read_rankings(str(cols))


def test_user_rankings_must_name_cohort_test_images(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("query_id,rater,image_id,rank\nq,R1,a,1\nq,R1,zz,2\n")
    cohort = pd.DataFrame({"image_id": ["q", "a", "b"], "split": "test", "label": [1, 0, 1]})
    settings = {"expert_rankings": str(path)}
    with pytest.raises(InputError, match=r"\['zz'\] that are not in the 'eff' test cohort"):
        catalogues_for_condition("eff", cohort, settings, set(), 0)
    # a catalogue that names an unreadable image is dropped (and logged), not failed
    path.write_text("query_id,rater,image_id,rank\nq,R1,a,1\nq,R1,b,2\nb,R1,q,1\nb,R1,c,2\n")
    cohort = pd.DataFrame(
        {"image_id": ["q", "a", "b", "c"], "split": "test", "label": [1, 0, 1, 0]}
    )
    kept = catalogues_for_condition("eff", cohort, settings, {"c"}, 0)
    assert kept["query_id"].unique().tolist() == ["q"]
    with pytest.raises(InputError, match="no catalogue left"):
        catalogues_for_condition("eff", cohort, settings, {"b"}, 0)


def test_severity_sampling_with_negatives_as_zero():
    cohort = pd.DataFrame(
        {
            "image_id": [f"i{i}" for i in range(14)],
            "split": ["test"] * 13 + ["train"],
            "label": [1] * 8 + [0] * 6,
            "sev": [float(i) for i in range(8)] + [None] * 6,
        }
    )
    settings = {
        "expert_rankings": None,
        "severity": {"column": "sev", "negatives_zero": True},
        "n_queries": 3,
        "size": 10,
        "keep_class_proportions": True,
        "raters": {"R1": 0.0},
    }
    r = catalogues_for_condition("c", cohort, settings, set(), 0)
    assert r["query_id"].nunique() == 3
    assert "i13" not in set(r["image_id"]) | set(r["query_id"])  # train image never used
    settings["severity"]["negatives_zero"] = False
    with pytest.raises(InputError, match="only 8 eligible"):
        catalogues_for_condition("c", cohort, settings, set(), 0)


def test_sampled_catalogues_never_hold_the_query_patient_or_near_duplicates():
    pool = _pool(20, 10).assign(group=[f"g{i // 3}" for i in range(30)])  # 3 films a group
    cats = sample_catalogues(pool, n_queries=0, size=8, seed=3)
    group = pool.set_index("image_id")["group"]
    assert cats["query_id"].nunique() == 30  # n_queries 0: every eligible query
    assert (cats["image_id"].map(group) != cats["query_id"].map(group)).all()
    # a pool where one group is everything but `size` films leaves that group no query
    big = _pool(6, 6).assign(group=["g0"] * 8 + ["g1", "g2", "g3", "g4"])
    with pytest.raises(InputError, match="only 4 eligible test images have 5 images of other"):
        sample_catalogues(big, n_queries=5, size=5, seed=0)


def test_expert_csv_with_a_same_patient_film_is_rejected_naming_rows(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("query_id,rater,image_id,rank\nq,R1,a,1\nq,R1,b,2\nq,R2,b,1\nq,R2,a,2\n")
    cohort = pd.DataFrame(
        {
            "image_id": ["q", "a", "b"],
            "split": "test",
            "label": [1, 0, 1],
            "group": ["p1", "p2", "p1"],
        }
    )
    settings = {"expert_rankings": str(path)}
    with pytest.raises(InputError, match=r"row 3 \(query 'q', image 'b'\), row 4 \(query 'q'"):
        catalogues_for_condition("eff", cohort, settings, set(), 0)
    cohort["group"] = ["p1", "p2", "p3"]
    assert len(catalogues_for_condition("eff", cohort, settings, set(), 0)) == 4


def test_expert_csv_with_an_image_twice_in_one_ranking_is_rejected(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("query_id,rater,image_id,rank\nq,R1,a,1\nq,R1,b,2\nq,R1,a,3\n")
    with pytest.raises(
        InputError, match=r"rater 'R1': image 'a' appears more than once \(rows \[2, 4\]\)"
    ):
        read_rankings(str(path))


def test_score_raters_rank_by_total_then_zone_profile():
    cats = pd.DataFrame({"query_id": "q", "image_id": ["a", "b", "c"]})
    total = pd.Series({"q": 6, "a": 6, "b": 6, "c": 9})
    zones = pd.DataFrame(
        {"A": [3, 0, 3, 3], "B": [3, 3, 3, 3], "C": [0, 3, 0, 3]}, index=["q", "a", "b", "c"]
    )
    junior = pd.Series({"q": 5, "a": 9, "b": 5, "c": 6})
    r = rank_by_scores(cats, {"senior": (total, zones), "junior": (junior, None)})
    senior = r[r["rater"] == "senior"].sort_values("rank")["image_id"].tolist()
    assert senior == ["b", "a", "c"]  # b: same total and profile; a: same total, other zones
    assert r[r["rater"] == "junior"].sort_values("rank")["image_id"].tolist() == ["b", "c", "a"]


def test_score_rater_catalogues_use_only_films_every_rater_scored():
    n = 16
    cohort = pd.DataFrame(
        {
            "image_id": [f"i{i:02d}" for i in range(n)],
            "split": "test",
            "label": 1,
            "group": [f"p{i // 2}" for i in range(n)],
            "s": [float(i % 7) for i in range(n - 2)] + [None, 3.0],
            "j": [float(i % 5) for i in range(n - 1)] + [None],
        }
    )
    settings = {
        "severity": {"raters": {"senior": {"column": "s"}, "junior": {"column": "j"}}},
        "n_queries": 0,
        "size": 5,
        "keep_class_proportions": True,
    }
    r = catalogues_for_condition("covid", cohort, settings, set(), 0)
    used = set(r["image_id"]) | set(r["query_id"])
    assert used <= {f"i{i:02d}" for i in range(n - 2)}
    assert r["query_id"].nunique() == n - 2 and rater_order(r) == ["senior", "junior"]
    settings["severity"]["raters"]["junior"]["column"] = "nope"
    with pytest.raises(InputError, match=r"conditions.covid.severity: \['nope'\] not manifest"):
        catalogues_for_condition("covid", cohort, settings, set(), 0)


def test_shared_ties_rank_equal_films_equally():
    cats = pd.DataFrame({"query_id": "q", "image_id": ["a", "b", "c", "d", "e"]})
    # a binary grade: the query's own status ties with two films, the other status with two
    sev = pd.Series({"q": 1.0, "a": 0.0, "b": 1.0, "c": 0.0, "d": 1.0, "e": 1.0})
    shared = rank_by_severity(cats, sev, ties="shared").set_index("image_id")["rank"]
    assert shared.to_dict() == {"b": 1, "d": 1, "e": 1, "a": 4, "c": 4}
    by_id = rank_by_severity(cats, sev).set_index("image_id")["rank"]
    assert by_id.to_dict() == {"b": 1, "d": 2, "e": 3, "a": 4, "c": 5}
    # a tiebreak splits a tie; only films equal on both keys share a rank
    tb = pd.Series({"q": 0.0, "a": 0.0, "b": 2.0, "c": 0.0, "d": 1.0, "e": 1.0})
    split = rank_by_severity(cats, sev, tb, ties="shared").set_index("image_id")["rank"]
    assert split.to_dict() == {"d": 1, "e": 1, "b": 3, "a": 4, "c": 4}
    zones = pd.DataFrame({"z": [0, 0, 1, 0, 1, 1]}, index=["q", "a", "b", "c", "d", "e"])
    scored = rank_by_scores(cats, {"senior": (sev, zones)}, ties="shared")
    assert scored.set_index("image_id")["rank"].to_dict() == {
        "b": 1,
        "d": 1,
        "e": 1,
        "a": 4,
        "c": 4,
    }
    with pytest.raises(InputError, match="ties must be one of"):
        rank_by_severity(cats, sev, ties="random")


def test_balanced_catalogues_hold_equal_shares_of_a_rare_finding():
    pool = _pool(8, 72)  # 10 % positives
    label = pool.set_index("image_id")["label"]
    for balanced, positives in ((False, {1}), (True, {5})):
        cats = sample_catalogues(pool, 0, 10, seed=3, balanced=balanced)
        per = cats.assign(pos=cats["image_id"].map(label)).groupby("query_id")["pos"].sum()
        assert len(per) == 80
        assert set(per) == positives, (balanced, sorted(set(per)))
