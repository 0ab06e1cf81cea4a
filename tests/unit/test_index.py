"""Shards cover the cohort in order; the exact index equals a full sort of distances."""

import numpy as np
import pytest

from cxr_cbir.errors import InputError
from cxr_cbir.retrieval.index import EmbeddingIndex, index_table
from cxr_cbir.run.shards import gather_arrays, save_arrays, shard_slice


@pytest.mark.parametrize("n_rows,n_shards", [(10, 3), (5, 5), (3, 4), (0, 2), (377, 16)])
def test_shards_cover_rows_in_order(n_rows, n_shards):
    rows = [list(range(n_rows))[shard_slice(n_rows, s, n_shards)] for s in range(n_shards)]
    assert sum(rows, []) == list(range(n_rows))
    sizes = [len(r) for r in rows]
    assert max(sizes) - min(sizes) <= 1


def test_shard_outside_range_is_named():
    with pytest.raises(InputError, match="shard 3 is outside 0..2"):
        shard_slice(10, 3, 3)


def test_gather_checks_ids(tmp_path):
    a, b = tmp_path / "0.npz", tmp_path / "1.npz"
    save_arrays(str(a), ids=np.array(["x", "y"]), vectors=np.ones((2, 3), np.float32))
    save_arrays(str(b), ids=np.array(["z"]), vectors=np.zeros((1, 3), np.float32))
    out = gather_arrays([str(a), str(b)], ["x", "y", "z"])
    assert out["vectors"].shape == (3, 3) and out["ids"].tolist() == ["x", "y", "z"]
    with pytest.raises(InputError, match="do not match"):
        gather_arrays([str(b), str(a)], ["x", "y", "z"])


@pytest.mark.parametrize("backend", ["faiss", "torch"])
@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_index_equals_full_sort(backend, metric):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3000, 32)).astype(np.float32)
    queries = rng.normal(size=(5, 32)).astype(np.float32)
    ids = np.array([f"img{i}" for i in range(len(base))])
    index = EmbeddingIndex(ids, base, metric, backend)
    dist, got = index.search(queries, 10)
    if metric == "cosine":
        b = base / np.linalg.norm(base, axis=1, keepdims=True)
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        full = 1.0 - q @ b.T
    else:
        full = np.linalg.norm(queries[:, None] - base[None], axis=2)
    want = np.argsort(full, axis=1, kind="stable")[:, :10]
    assert (got == ids[want]).all()
    np.testing.assert_allclose(dist, np.take_along_axis(full, want, 1), atol=2e-4)
    assert (np.diff(dist, axis=1) >= -1e-6).all()


def test_torch_blocks_merge_exactly():
    import torch

    from cxr_cbir.retrieval.index import torch_topk

    rng = np.random.default_rng(1)
    base = torch.from_numpy(rng.normal(size=(1000, 8)).astype(np.float32))
    q = rng.normal(size=(3, 8)).astype(np.float32)
    d_small, i_small = torch_topk(base, (base * base).sum(1), q, 7, block=64)
    d_big, i_big = torch_topk(base, (base * base).sum(1), q, 7, block=100000)
    assert (i_small == i_big).all()
    np.testing.assert_allclose(d_small, d_big, rtol=1e-5, atol=1e-5)


def test_index_roundtrip_and_errors(tmp_path):
    ids = np.array(["a", "b", "c"])
    index = EmbeddingIndex(ids, np.eye(3, dtype=np.float32), "l2", "torch")
    index.save(str(tmp_path / "i.npz"))
    again = EmbeddingIndex.load(str(tmp_path / "i.npz"))
    assert again.search(np.array([0, 1, 0.1], np.float32), 1)[1].tolist() == [["b"]]
    with pytest.raises(InputError, match="query has 2 dimensions, the index 3"):
        again.search(np.zeros(2, np.float32), 1)
    with pytest.raises(InputError, match="metric 'dot'"):
        EmbeddingIndex(ids, np.eye(3, dtype=np.float32), "dot")
    with pytest.raises(InputError, match="2 ids for 3 vectors"):
        EmbeddingIndex(ids[:2], np.eye(3, dtype=np.float32))


def test_index_table_follows_index_order():
    import pandas as pd

    cohort = pd.DataFrame({"image_id": ["a", "b", "c"], "label": [1, 0, 1], "age": [50, None, 70]})
    table = index_table(cohort, ["c", "a"], ["label", "age", "not_there"])
    assert table.columns.tolist() == ["image_id", "label", "age"]
    assert table["image_id"].tolist() == ["c", "a"]
    with pytest.raises(InputError, match="e.g. z"):
        index_table(cohort, ["z"], ["label"])


def test_auto_backend_follows_the_measured_crossover():
    from cxr_cbir.retrieval.index import FAISS_MAX_ELEMENTS

    small = EmbeddingIndex(np.arange(10).astype(str), np.zeros((10, 8), np.float32))
    assert small.backend == "faiss"
    n = FAISS_MAX_ELEMENTS // 64 + 1
    big = EmbeddingIndex(np.arange(n).astype(str), np.zeros((n, 64), np.float32))
    assert big.backend == "torch"


def test_ranking_and_index_jobs_do_not_import_torch():
    """rank_embedding and embedding_index run a dozen times a run: no torch import there
    (it cost ~4 s a job on 2 cores), only the torch search backend loads it."""
    import subprocess
    import sys

    code = (
        "import sys, cxr_cbir.retrieval.ranking, cxr_cbir.retrieval.index;"
        "import cxr_cbir.data.catalogues, cxr_cbir.run.runlog;"
        "import numpy as np;"
        "from cxr_cbir.retrieval.index import EmbeddingIndex;"
        "EmbeddingIndex(np.array(['a', 'b']), np.eye(2), backend='faiss');"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
