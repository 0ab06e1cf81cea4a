"""Metric learning: attention mask, class-balanced batches, loss, recall@k, KNN, prognosis CV."""

import numpy as np
import pandas as pd
import pytest
import torch

from cxr_cbir import models
from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.knn import (
    evaluate,
    knn_predict,
    neighbours,
    random_recall,
    recall_at_k,
)
from cxr_cbir.evaluation.prognosis import clinical_matrix, cross_validate, grouped_folds
from cxr_cbir.models.embedding import CrossEntropyResNet, MetricEmbeddingNet, init_trunk_from
from cxr_cbir.models.predict import embed_all
from cxr_cbir.torch_utils import save_checkpoint
from cxr_cbir.training.metric_learning import (
    class_balanced_batches,
    leave_one_out_scores,
    train_embedding,
)

torch.set_num_threads(2)


def test_attention_mask_shape_and_range():
    model = MetricEmbeddingNet(embedding_dim=64).eval()
    with torch.no_grad():
        feats, mask = model.features_and_mask(torch.randn(2, 3, 128, 128))
        emb = model(torch.randn(2, 3, 128, 128))
    assert feats.shape == (2, 2048)
    assert mask.shape == (2, 1, 8, 8)  # the conv4 (layer3) resolution at 128 px
    assert mask.min() > 0 and mask.max() < 1
    assert emb.shape == (2, 64) and torch.allclose(emb.norm(dim=1), torch.ones(2))
    assert MetricEmbeddingNet(attention=False).attention is None
    assert CrossEntropyResNet(3)(torch.randn(1, 3, 64, 64)).shape == (1, 3)


def test_sampler_batches_are_t_by_n():
    labels = np.array([0] * 30 + [1] * 12 + [2] * 5 + [3] * 20)
    batches = class_balanced_batches(labels, per_class=4, classes_per_batch=3, n_batches=6, seed=0)
    assert len(batches) == 6
    for b in batches:
        counts = np.bincount(labels[b], minlength=4)
        assert len(b) == 12 and sorted(counts[counts > 0].tolist()) == [4, 4, 4]
    with pytest.raises(InputError, match="classes per batch"):
        class_balanced_batches(labels[:42], 4, 3, 1, 0)


def test_leave_one_out_scores_by_hand():
    # 1-d points: class 0 at 0, 1, 2, 10; class 1 at 11.4, 12. Nearest of 10 is 11.4 (wrong);
    # every other film's nearest is its own class: recall@1 = 5/6.
    x = np.array([[0.0], [1.0], [2.0], [10.0], [11.4], [12.0]])
    y = np.array([0, 0, 0, 0, 1, 1])
    s = leave_one_out_scores(x, y, "l2", k=2)
    assert s["recall_at_1"] == pytest.approx(5 / 6)
    # two nearest: 0 -> 1, 2 (2 same); 1 -> 0, 2 (2); 2 -> 1, 0 (2); 10 -> 11.4, 12 (0);
    # 11.4 -> 12, 10 (1); 12 -> 11.4, 10 (1): 8 of 12
    assert s["precision_at_2"] == pytest.approx(8 / 12)
    # k larger than the other films is capped: every film against all five others
    assert leave_one_out_scores(x, y, "l2", k=10)["precision_at_10"] == pytest.approx(
        (4 * 3 + 2 * 1) / 30
    )


def test_metric_monitor_picks_the_kept_checkpoint(tmp_path, monkeypatch):
    x, y = _toy(4)
    kw = dict(
        iterations=8,
        lr=1e-3,
        per_class=4,
        classes_per_batch=3,
        seed=0,
        checkpoint_every=2,
        val_images=x,
        val_labels=y,
    )
    # scripted validation scores: recall@1 peaks at the first check, precision@10 at the
    # third, so the kept check tells which monitor was read
    import cxr_cbir.training.metric_learning as metric_training

    recall, precision = [0.9, 0.5, 0.4, 0.3], [0.1, 0.2, 0.8, 0.3]

    def scripted(self):
        i = self._checks = getattr(self, "_checks", -1) + 1
        return {"recall_at_1": recall[i], "precision_at_10": precision[i]}

    monkeypatch.setattr(metric_training.EmbeddingTask, "validate", scripted)
    for monitor, kept_check in (("recall_at_1", 0), ("precision_at_10", 2)):
        torch.manual_seed(0)
        _, h = train_embedding(
            MetricEmbeddingNet(16),
            x,
            y,
            "dml",
            checkpoint=tmp_path / f"{monitor}.pt",
            monitor=monitor,
            **kw,
        )
        assert set(h["monitor"]) == {monitor}
        assert h["val_recall_at_1"].tolist()[:2] == recall[:2]
        assert np.flatnonzero(h["kept"].to_numpy()).tolist() == [kept_check], monitor
    with pytest.raises(InputError, match="unknown metric monitor"):
        train_embedding(
            MetricEmbeddingNet(16), x, y, "dml", checkpoint=tmp_path / "b.pt", monitor="auc", **kw
        )


def _toy(n_per=8, size=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, (3 * n_per, size, size)).astype(np.uint8)
    y = np.repeat(np.arange(3), n_per)
    for c in range(3):
        x[y == c, 4 + 8 * c : 12 + 8 * c, 4:28] = 250  # a bar whose height codes the class
    return x, y


def test_multi_similarity_loss_falls(tmp_path):
    x, y = _toy()
    torch.manual_seed(0)
    model, history = train_embedding(
        MetricEmbeddingNet(16),
        x,
        y,
        "dml",
        iterations=12,
        lr=1e-3,
        per_class=4,
        classes_per_batch=3,
        seed=0,
        checkpoint=tmp_path / "c.pt",
        checkpoint_every=3,
        val_images=x,
        val_labels=y,
    )
    assert history["iteration"].tolist() == [3, 6, 9, 12]
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert history["kept"].sum() == 1
    assert set(history["monitor"]) == {"precision_at_10"}  # the default
    kept = history.loc[history["kept"], "val_precision_at_10"].iloc[0]
    assert kept == history["val_precision_at_10"].max()
    assert history["val_recall_at_1"].notna().all()
    emb, feats = embed_all(model, x, 8, "cpu")
    assert emb.shape == (24, 16) and feats.shape == (24, 2048)


def test_metric_training_resumes_to_the_same_weights(tmp_path):
    x, y = _toy(4)
    kw = dict(
        images=x,
        labels=y,
        kind="ce",
        lr=1e-3,
        per_class=2,
        classes_per_batch=3,
        seed=1,
        checkpoint_every=2,
    )
    torch.manual_seed(0)
    a, _ = train_embedding(
        models.build("ce", {"classes": [0, 1, 2]}),
        iterations=4,
        checkpoint=tmp_path / "a.pt",
        **kw,
    )
    torch.manual_seed(0)
    train_embedding(
        models.build("ce", {"classes": [0, 1, 2]}),
        iterations=2,
        checkpoint=tmp_path / "b.pt",
        **kw,
    )
    torch.manual_seed(9)
    b, hist = train_embedding(
        models.build("ce", {"classes": [0, 1, 2]}),
        iterations=4,
        checkpoint=tmp_path / "b.pt",
        **kw,
    )
    assert hist["iteration"].tolist() == [2, 4]
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


def test_load_metric_model_restores_the_trained_network_in_eval_mode(tmp_path):
    settings = {"embedding_dim": 16, "attention": True}
    torch.manual_seed(3)
    trained = models.build("dml", settings).eval()
    save_checkpoint(trained.state_dict(), tmp_path / "m.pt")
    torch.manual_seed(4)  # a different init: the weights must come from the file
    loaded = models.load("dml", tmp_path / "m.pt", "cpu", settings)
    assert not loaded.training
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(trained.embed(x), loaded.embed(x))


def test_dml_trunk_starts_from_the_ce_baseline_and_nothing_else(tmp_path):
    torch.manual_seed(5)
    ce = CrossEntropyResNet(3)
    save_checkpoint(ce.state_dict(), tmp_path / "ce.pt")
    torch.manual_seed(6)
    dml = MetricEmbeddingNet(16, attention=True)
    head = {k: v.clone() for k, v in dml.state_dict().items() if not k.startswith("trunk.")}
    assert init_trunk_from(dml, tmp_path / "ce.pt") == len(ce.trunk.state_dict())
    for k, v in ce.trunk.state_dict().items():
        assert torch.equal(dml.trunk.state_dict()[k], v), k
    for k, v in dml.state_dict().items():  # attention branch and head keep their init
        if not k.startswith("trunk."):
            assert torch.equal(v, head[k]), k
    save_checkpoint({"classifier.weight": torch.zeros(3, 2048)}, tmp_path / "bad.pt")
    with pytest.raises(InputError, match="bad.pt: no 'trunk"):
        init_trunk_from(dml, tmp_path / "bad.pt")


def test_recall_and_weighted_knn_by_hand():
    base = np.array([[0.0], [1.0], [2.0], [10.0]])
    base_labels = np.array([0, 1, 1, 0])
    queries = np.array([[0.4], [9.0]])
    idx, dist = neighbours(queries, base, 3)
    assert idx.tolist() == [[0, 1, 2], [3, 2, 1]]
    assert dist[0].tolist() == pytest.approx([0.4, 0.6, 1.6])
    hits = recall_at_k(np.array([1, 1]), base_labels, idx, [1, 2])
    assert hits[1].tolist() == [0.0, 0.0] and hits[2].tolist() == [1.0, 1.0]
    # query 0: class 0 weight 1/0.4 = 2.5; class 1 weights 1/0.6 + 1/1.6 = 2.29 -> class 0
    assert knn_predict(base_labels, idx, dist, 2).tolist() == [0, 0]
    # with k=2 query 0: 2.5 vs 1.67 -> 0; without the nearest it flips to class 1
    assert knn_predict(base_labels, idx[:, 1:], dist[:, 1:], 2).tolist() == [1, 1]


def test_random_recall_by_hand():
    # 2 of 4 films share the class; 1 draw: 1/2; 2 draws: 1 - (2/4)(1/3) = 5/6
    assert random_recall(2, 4, 1) == pytest.approx(0.5)
    assert random_recall(2, 4, 2) == pytest.approx(5 / 6)
    assert random_recall(1, 4, 4) == 1.0


def test_evaluate_rows_per_class_and_site():
    train = pd.DataFrame({"label": [0, 0, 1, 1]})
    test = pd.DataFrame({"label": [0, 1], "source": ["a", "b"]})
    tv = np.array([[0.0], [0.1], [5.0], [5.1]])
    qv = np.array([[0.05], [5.05]])
    test["image_id"] = ["q0", "q1"]
    recall, knn, per_query = evaluate(
        "m", train, test, tv, qv, ["x", "y"], "l2", ks=(1,), knn_k=2, site_column="source"
    )
    assert per_query[["image_id", "class", "metric", "value"]].values.tolist() == [
        ["q0", "x", "recall@1", 1.0],
        ["q1", "y", "recall@1", 1.0],
        ["q0", "x", "knn", 1.0],
        ["q1", "y", "knn", 1.0],
    ]
    assert recall.set_index("class")["recall"].to_dict() == {"x": 1.0, "y": 1.0, "all": 1.0}
    k = knn.set_index(["metric", "class"])["value"]
    assert k[("accuracy", "all")] == 1.0 and k[("accuracy@a", "all")] == 1.0
    assert k[("sensitivity", "y")] == 1.0 and k[("ppv", "x")] == 1.0


def test_prognosis_folds_never_split_a_patient():
    rng = np.random.default_rng(0)
    groups = np.repeat([f"p{i}" for i in range(30)], rng.integers(1, 4, 30))
    y = (rng.random(len(groups)) < 0.5).astype(int)
    for tr, te in grouped_folds(y, groups, 5, seed=0):
        assert not set(groups[tr]) & set(groups[te])
    X = np.c_[y + rng.normal(0, 0.5, len(y)), rng.normal(size=len(y))]
    X[::4, 0] = np.nan  # missing values are imputed within each fold
    auc, curves, _, oof = cross_validate({"f": X}, y, groups, 5, seed=0)
    assert len(auc) == 5 and auc["auc"].mean() > 0.7
    assert curves["f"][1].shape == (5, 101)
    assert sorted(oof["row"]) == list(range(len(y)))  # every film predicted once, out of fold
    with pytest.raises(InputError, match="cannot fill 5 folds"):
        grouped_folds(y[:3], np.array(["a", "a", "b"]), 5, 0)


def test_clinical_fields_are_coded():
    df = pd.DataFrame({"sex": ["M", "F", None], "age": ["70", None, "x"], "flag": ["Y", "N", ""]})
    m = clinical_matrix(df, ["sex", "age", "flag"])
    assert m[:, 0].tolist()[:2] == [1.0, 0.0] and np.isnan(m[2, 0])
    assert m[0, 1] == 70.0 and np.isnan(m[1, 1]) and np.isnan(m[2, 1])
    assert m[:2, 2].tolist() == [1.0, 0.0]
    with pytest.raises(InputError, match="not in the manifest"):
        clinical_matrix(df, ["height"])
