"""nDCG against values computed by hand (relevance ((n + 1) - rank) / 2 + 0.5, i.e.
5.5 .. 1.0 for n = 10; gain 2^rel - 1, log2 discount)."""

import itertools

import numpy as np
import pandas as pd
import pytest

from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.ndcg import (
    dcg,
    expected_random_ndcg,
    ndcg_at_k,
    relevance_from_rank,
)
from cxr_cbir.evaluation.ndcg_tables import ndcg_table


def test_relevance_scale_runs_from_5_5_to_1_0_in_half_steps():
    assert relevance_from_rank(np.arange(1, 11)).tolist() == [
        5.5,
        5.0,
        4.5,
        4.0,
        3.5,
        3.0,
        2.5,
        2.0,
        1.5,
        1.0,
    ]


def test_relevance_for_other_catalogue_sizes():
    assert relevance_from_rank(np.arange(1, 7), n=6).tolist() == [3.5, 3.0, 2.5, 2.0, 1.5, 1.0]
    assert relevance_from_rank(np.arange(1, 4), n=3).tolist() == [2.0, 1.5, 1.0]
    assert relevance_from_rank(np.arange(1, 13), n=12)[[0, -1]].tolist() == [6.5, 1.0]


def test_dcg_by_hand():
    # gains 2^5.5-1 = 44.254834, 2^5-1 = 31; discounts 1, log2(3) = 1.5849625
    assert dcg([5.5, 5.0], 2) == pytest.approx(44.254834 + 31 / 1.5849625, rel=1e-7)


def test_ndcg_three_images_by_hand():
    # n = 3: truth a > b > c has rel 2.0, 1.5, 1.0 (gains 3, 1.8284271, 1); retrieved c, a, b
    # DCG  = 1 + 3 / 1.5849625         + 1.8284271 / 2 = 3.8070028
    # IDCG = 3 + 1.8284271 / 1.5849625 + 1 / 2         = 4.6536091
    assert ndcg_at_k(["c", "a", "b"], ["a", "b", "c"], 3) == pytest.approx(0.8180753, abs=1e-6)
    # @2: (1 + 3 / 1.5849625) / (3 + 1.8284271 / 1.5849625) = 0.6964520
    assert ndcg_at_k(["c", "a", "b"], ["a", "b", "c"], 2) == pytest.approx(0.6964520, abs=1e-6)


def test_a_six_film_catalogue_uses_its_own_scale():
    # n = 6: rel 3.5 .. 1.0. Swapping the first two: DCG@1 = 2^3 - 1 = 7 vs IDCG@1 = 2^3.5 - 1
    truth = list("abcdef")
    swapped = ["b", "a", "c", "d", "e", "f"]
    assert ndcg_at_k(swapped, truth, 1) == pytest.approx(7 / (2**3.5 - 1), abs=1e-9)
    # the old fixed 5.5 .. 3.0 scale would give (2^5 - 1) / (2^5.5 - 1) = 0.7005
    assert ndcg_at_k(swapped, truth, 1) == pytest.approx(0.6787, abs=1e-4)


def test_perfect_and_reversed_rankings():
    truth = [f"i{j}" for j in range(10)]
    assert ndcg_at_k(truth, truth, 10) == pytest.approx(1.0)
    assert ndcg_at_k(truth, truth, 3) == pytest.approx(1.0)
    # the 5.5 .. 1.0 scale is compressed: even a reversed ranking keeps about half
    assert ndcg_at_k(truth[::-1], truth, 10) == pytest.approx(0.506, abs=0.001)


def test_random_rankings_average_about_0_70_and_0_40():
    rng = np.random.default_rng(0)
    truth = [f"i{j}" for j in range(10)]
    at10, at3 = [], []
    for _ in range(4000):
        perm = list(rng.permutation(truth))
        at10.append(ndcg_at_k(perm, truth, 10))
        at3.append(ndcg_at_k(perm, truth, 3))
    assert np.mean(at10) == pytest.approx(0.698, abs=0.01)
    assert np.mean(at3) == pytest.approx(0.399, abs=0.015)


@pytest.mark.parametrize("n", [3, 4, 6])
def test_exact_chance_level_is_the_mean_over_every_order(n):
    truth = [f"i{j}" for j in range(n)]
    for k in (1, 2, n, n + 2):
        every = [ndcg_at_k(list(p), truth, k) for p in itertools.permutations(truth)]
        assert expected_random_ndcg(n, k) == pytest.approx(np.mean(every), abs=1e-12), (n, k)


def test_exact_chance_level_of_ten_films():
    # the sampled means of the test above, now exact; a perfect order of one film is 1
    assert expected_random_ndcg(10, 10) == pytest.approx(0.698116, abs=1e-6)
    assert expected_random_ndcg(10, 3) == pytest.approx(0.398850, abs=1e-6)
    assert expected_random_ndcg(1, 1) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="n and k"):
        expected_random_ndcg(0, 10)


def test_ndcg_table_scores_chance_exactly_per_catalogue():
    # two catalogues of different sizes: chance depends on n, never on a random draw
    rows = [("q1", "R1", f"a{j}", j + 1) for j in range(10)]
    rows += [("q2", "R1", f"b{j}", j + 1) for j in range(6)]
    truth = pd.DataFrame(rows, columns=["query_id", "rater", "image_id", "rank"])
    perfect = truth.drop(columns="rater")
    table = ndcg_table("c", truth, {"m": perfect}, [10, 3]).set_index(["method", "query_id", "k"])
    assert table.loc[("random", "q1", 10), "ndcg"] == pytest.approx(expected_random_ndcg(10, 10))
    assert table.loc[("random", "q2", 3), "ndcg"] == pytest.approx(expected_random_ndcg(6, 3))
    assert table.loc[("m", "q2", 10), "ndcg"] == pytest.approx(1.0)
    assert len(table) == 2 * 2 * 2  # (m, random) x queries x k
    with pytest.raises(InputError, match="'random' is the exact chance level"):
        ndcg_table("c", truth, {"random": perfect}, [10])
    assert set(ndcg_table("c", truth, {"m": perfect}, [10], chance=None)["method"]) == {"m"}


def test_ndcg_refuses_different_image_sets():
    with pytest.raises(ValueError, match="same images"):
        ndcg_at_k(["a", "x"], ["a", "b"], 2)


def test_tied_films_share_the_mean_relevance_of_their_positions():
    from cxr_cbir.evaluation.ndcg import tied_relevance

    # two ties of 5 in a catalogue of 10: positions 1-5 (5.5 .. 3.5) and 6-10 (3.0 .. 1.0)
    grades = tied_relevance([1] * 5 + [6] * 5, 10)
    assert grades.tolist() == [4.5] * 5 + [2.0] * 5
    assert (
        tied_relevance(np.arange(1, 11)).tolist() == relevance_from_rank(np.arange(1, 11)).tolist()
    )
    truth = list("abcdefghij")
    ranks = [1] * 5 + [6] * 5
    # any order of the first tie before the second is ideal; a swap across ties is not
    assert ndcg_at_k(list("edcbajihgf"), truth, 10, ranks) == pytest.approx(1.0)
    assert ndcg_at_k(list("edcbajihgf"), truth, 10) < 0.9
    swapped = list("fbcdeaghij")
    g_hi, g_lo = 2**4.5 - 1, 2**2.0 - 1
    disc = 1 / np.log2(np.arange(2, 12))
    ideal = g_hi * disc[:5].sum() + g_lo * disc[5:].sum()
    got = ideal - (g_hi - g_lo) * (disc[0] - disc[5])
    assert ndcg_at_k(swapped, truth, 10, ranks) == pytest.approx(got / ideal, abs=1e-12)


def test_exact_chance_with_ties_is_the_mean_over_every_order():
    truth = list("abcdef")
    for ranks in ([1, 1, 1, 4, 4, 4], [1, 2, 2, 4, 5, 5], [1] * 6):
        for k in (1, 3, 6):
            every = [ndcg_at_k(list(p), truth, k, ranks) for p in itertools.permutations(truth)]
            assert expected_random_ndcg(6, k, ranks) == pytest.approx(np.mean(every), abs=1e-12)
    # a catalogue whose films all tie: every order is ideal
    assert expected_random_ndcg(6, 3, [1] * 6) == pytest.approx(1.0)


def test_ndcg_table_scores_tied_truth_and_its_own_chance():
    rows = [("q", "R1", i, r) for i, r in zip("abcd", [1, 1, 3, 3], strict=True)]
    rankings = pd.DataFrame(rows, columns=["query_id", "rater", "image_id", "rank"])
    method = pd.DataFrame({"query_id": "q", "image_id": list("badc"), "rank": [1, 2, 3, 4]})
    wrong = pd.DataFrame({"query_id": "q", "image_id": list("cadb"), "rank": [1, 2, 3, 4]})
    t = ndcg_table("c", rankings, {"m": method, "w": wrong}, [2])
    got = t.set_index("method")["ndcg"]
    assert got["m"] == pytest.approx(1.0)
    assert got["w"] < 0.8
    assert got["random"] == pytest.approx(expected_random_ndcg(4, 2, [1, 1, 3, 3]))
    assert got["random"] != pytest.approx(expected_random_ndcg(4, 2))
