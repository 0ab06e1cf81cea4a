"""The classifiers' auxiliary severity head: its loss, what it learns, what is saved."""

import numpy as np
import torch

from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.models.inputs import prepare
from cxr_cbir.torch_utils import load_checkpoint
from cxr_cbir.training import classifier
from cxr_cbir.training.classifier import ClassifierTask, train_classifier
from cxr_cbir.training.engine import Budget
from cxr_cbir.training.severity_head import SeverityAux, SeverityHeaded
from cxr_cbir.training.targets import TargetScaler


def _graded(n=32, size=32, seed=0):
    """Films with a bright patch whose area grows with the score (0-8 positives, NaN for
    half the controls: unscored); label 1 for scores >= 1."""
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 9, n).astype(float)
    x = rng.integers(0, 40, (n, size, size)).astype(np.uint8)
    for i, s in enumerate(score):
        x[i, 4 : 4 + 3 * int(s), 4:28] = 230
    y = (score >= 1).astype(int)
    scores = np.stack([score, score / 2], 1)
    scores[np.flatnonzero(y == 0)[::2]] = np.nan
    return x, y, scores


def test_loss_adds_the_weighted_masked_mse_of_standardised_scores(monkeypatch):
    monkeypatch.setattr(classifier, "paper_affine", lambda x, *a: x)  # no augmentation
    x, y, scores = _graded(12)
    torch.manual_seed(0)
    model = SeverityHeaded(DenseNetClassifier(), 2).eval()  # eval: BatchNorm by statistics

    def loss(weight):
        aux = SeverityAux(scores, scores[:4], weight)
        task = ClassifierTask(model, x, y, x[:4], y[:4], 12, "cpu", aux)
        return task.loss(task.load(np.arange(12)), None).item()

    with torch.no_grad():
        logit, predicted = model.outputs(prepare(torch.from_numpy(x)))
    z = TargetScaler(scores).forward(scores)
    ok = np.isfinite(z)
    mse = ((predicted.numpy() - np.nan_to_num(z)) ** 2 * ok).sum() / ok.sum()
    assert np.isclose(loss(1.0) - loss(0.0), mse, rtol=1e-4)
    assert np.isclose(loss(2.5) - loss(0.0), 2.5 * mse, rtol=1e-4)
    # unscored films add nothing: any value behind the mask gives the same loss
    assert torch.allclose(logit, model(prepare(torch.from_numpy(x))))


def _train_graded(checkpoint, weight, epochs):
    """A classifier trained on the graded toy films with the head at ``weight``."""
    (x, y, scores), val = _graded(48), _graded(32, seed=1)
    torch.manual_seed(0)
    return train_classifier(
        DenseNetClassifier(),
        x,
        y,
        *val[:2],
        optimizer="adam",
        lr=1e-3,
        budget=Budget(epochs=epochs),
        batch_size=8,
        seed=0,
        checkpoint=checkpoint,
        severity=SeverityAux(scores, val[2], weight),
    )


def test_head_reads_the_score_and_is_dropped_after_training(tmp_path):
    model, history = _train_graded(tmp_path / "c.pt", 1.0, epochs=6)
    assert type(model) is DenseNetClassifier
    assert list(model.state_dict()) == list(DenseNetClassifier().state_dict())
    # the head learnt the score: validation r of its graded output over the last three
    # epochs (0.87-0.96; a head left untrained, weight 1e-9, read -0.21 to 0.82 over the
    # epochs and 0.11 over the last three: the trunk's features alone carry the patch's
    # area, in no fixed direction)
    assert history["val_severity_r"].tail(3).mean() > 0.85, history["val_severity_r"]
    # weight 0 trains no head and reports no severity r
    _, plain = _train_graded(tmp_path / "p.pt", 0.0, epochs=1)
    assert "val_severity_r" not in plain


def test_resume_with_the_head_gives_the_same_weights(tmp_path):
    x, y, scores = _graded(16)
    kw = dict(
        train_x=x,
        train_y=y,
        val_x=x[:8],
        val_y=y[:8],
        optimizer="adam",
        lr=1e-3,
        batch_size=8,
        seed=5,
        severity=SeverityAux(scores, scores[:8], 1.0),
    )
    torch.manual_seed(0)
    straight, h1 = train_classifier(
        DenseNetClassifier(), budget=Budget(3), checkpoint=tmp_path / "a.pt", **kw
    )
    torch.manual_seed(0)
    train_classifier(DenseNetClassifier(), budget=Budget(2), checkpoint=tmp_path / "b.pt", **kw)
    state = load_checkpoint(tmp_path / "b.pt")
    assert int(state["epoch"]) == 1 and "severity.weight" in state["model"]
    torch.manual_seed(123)  # another fresh init of trunk and head: the checkpoint must win
    resumed, h2 = train_classifier(
        DenseNetClassifier(), budget=Budget(3), checkpoint=tmp_path / "b.pt", **kw
    )
    assert h1["val_severity_r"].tolist() == h2["val_severity_r"].tolist()
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
