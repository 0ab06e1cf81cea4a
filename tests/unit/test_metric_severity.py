"""The metric models' auxiliary severity head (dml and ce): its loss, what it learns,
what is saved, and that a resumed run gives the same weights."""

import numpy as np
import pytest
import torch

from cxr_cbir import models
from cxr_cbir.models.embedding import MetricEmbeddingNet
from cxr_cbir.models.inputs import prepare
from cxr_cbir.torch_utils import load_checkpoint
from cxr_cbir.training import metric_learning as metric
from cxr_cbir.training.metric_learning import EmbeddingTask, train_embedding
from cxr_cbir.training.severity_head import SeverityAux, SeverityHeaded
from cxr_cbir.training.targets import TargetScaler


def _graded(n=36, size=32, seed=0):
    """Three classes (control, other pneumonia, covid) coded by a bar's row, and a graded
    score coded by the width of a bright patch: controls 0, the others 1-8 (NaN for every
    third of the pneumonias: unscored)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    score = np.where(y == 0, 0, rng.integers(1, 9, n)).astype(float)
    x = rng.integers(0, 40, (n, size, size)).astype(np.uint8)
    for i in range(n):
        x[i, 2 + 3 * y[i] : 4 + 3 * y[i], 2:30] = 200
        x[i, 14:28, 2 : 2 + 3 * int(score[i])] = 250
    scores = np.stack([score, score / 2], 1)
    scores[np.flatnonzero(y == 1)[::3]] = np.nan
    return x, y, scores


SETTINGS = {"iterations": 4, "checkpoint_every": 2, "per_class": 4, "classes_per_batch": 3}


@pytest.mark.parametrize("kind", ["dml", "ce"])
def test_loss_adds_the_weighted_masked_mse_of_standardised_scores(kind, monkeypatch):
    monkeypatch.setattr(metric, "random_crop", lambda x, *a, **k: x)  # no augmentation
    x, y, scores = _graded(12)
    torch.manual_seed(0)
    net = models.build(kind, {"embedding_dim": 16, "classes": [0, 1, 2]})
    model = SeverityHeaded(net, 2).eval()  # eval: BatchNorm by its statistics

    def loss(weight):
        aux = SeverityAux(scores, scores[:3], weight)
        task = EmbeddingTask(model, kind, x, y, x[:3], y[:3], SETTINGS, "cpu", aux)
        return task.loss(task.load(np.arange(12)), None).item()

    with torch.no_grad():
        _, predicted = model.outputs(prepare(torch.from_numpy(x)))
    z = TargetScaler(scores).forward(scores)
    ok = np.isfinite(z)
    mse = ((predicted.numpy() - np.nan_to_num(z)) ** 2 * ok).sum() / ok.sum()
    assert mse > 0.1
    assert np.isclose(loss(1.0) - loss(0.0), mse, rtol=1e-4)
    assert np.isclose(loss(3.0) - loss(0.0), 3 * mse, rtol=1e-4)


def _train(checkpoint, weight, iterations, kind="dml", init_seed=0, **kw):
    (x, y, scores), (vx, vy, vs) = _graded(48), _graded(30, seed=1)
    torch.manual_seed(init_seed)
    return train_embedding(
        models.build(kind, {"embedding_dim": 16, "classes": [0, 1, 2]}),
        x,
        y,
        kind,
        iterations=iterations,
        lr=1e-3,
        per_class=4,
        classes_per_batch=3,
        seed=0,
        checkpoint=checkpoint,
        checkpoint_every=kw.pop("checkpoint_every", 10),
        val_images=vx,
        val_labels=vy,
        severity=SeverityAux(scores, vs, weight),
        **kw,
    )


def test_dml_head_reads_the_score_and_is_dropped_after_training(tmp_path):
    model, history = _train(tmp_path / "c.pt", 1.0, iterations=30, checkpoint_every=5)
    assert type(model) is MetricEmbeddingNet
    assert list(model.state_dict()) == list(MetricEmbeddingNet(16).state_dict())
    # the head learnt the patch's width from the L2-normalised embedding: validation r at
    # the last two checkpoints 0.93 and 0.80; a head left untrained (weight 1e-9) read
    # -0.74 and -0.46 there, and 0.15 to -0.93 over the six checkpoints
    assert history["val_severity_r"].tail(2).mean() > 0.7, history["val_severity_r"]
    # weight 0 trains no head and reports no severity r
    _, plain = _train(tmp_path / "p.pt", 0.0, iterations=5, checkpoint_every=5)
    assert "val_severity_r" not in plain


def test_resume_with_the_head_gives_the_same_weights(tmp_path):
    straight, h1 = _train(tmp_path / "a.pt", 1.0, iterations=4, kind="ce", checkpoint_every=2)
    _train(tmp_path / "b.pt", 1.0, iterations=2, kind="ce", checkpoint_every=2)
    state = load_checkpoint(tmp_path / "b.pt")
    assert int(state["epoch"]) == 0 and "severity.weight" in state["model"]
    # another fresh init of trunk and head: the checkpoint must win
    resumed, h2 = _train(
        tmp_path / "b.pt", 1.0, iterations=4, kind="ce", checkpoint_every=2, init_seed=9
    )
    assert h1["val_severity_r"].tolist() == h2["val_severity_r"].tolist()
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
