"""The pretraining stage: every recorded finding at once, unknown findings masked out,
and a trunk that then starts another model."""

import numpy as np
import pandas as pd
import pytest
import torch

from cxr_cbir.errors import InputError
from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.models.multi_output import MultiOutputDenseNet
from cxr_cbir.torch_utils import load_state_dict_file, save_checkpoint, seed_everything
from cxr_cbir.training.engine import Budget
from cxr_cbir.training.multi_output import Recipe, predict_outputs
from cxr_cbir.training.pretrain import (
    MultiFindingTask,
    finding_matrix,
    mean_auc,
    positive_weights,
    pretrain,
)

SIZE = 32


def _films(n, seed):
    """Finding a: a bright band at the top; finding b: a bright block bottom right."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 2)) < 0.5).astype(float)
    img = rng.uniform(40, 90, (n, 1, 1)) + rng.normal(0, 10, (n, SIZE, SIZE))
    img[y[:, 0] == 1, 2:10, 4:-4] += 100
    img[y[:, 1] == 1, -12:-3, -12:-3] += 100
    return np.clip(img, 0, 255).astype(np.uint8), y


def test_findings_are_0_1_and_anything_else_unknown():
    table = pd.DataFrame({"covid": [1, 0, None, -1], "finding_effusion": ["1", "0", "", "x"]})
    y = finding_matrix(table, ["covid", "finding_effusion"])
    assert y[:2].tolist() == [[1, 1], [0, 0]] and np.isnan(y[2:]).all()
    with pytest.raises(InputError, match=r"\['finding_mass'\] are not in the manifest"):
        finding_matrix(table, ["finding_mass"])
    w = positive_weights(np.array([[1, np.nan], [0, 0], [0, np.nan], [0, 1]]))
    assert w.tolist() == [3.0, 1.0]


def test_unrecorded_findings_train_nothing():
    seed_everything(0)
    model = MultiOutputDenseNet(2)
    x, _ = _films(2, 0)
    y = np.array([[1.0, np.nan], [0.0, np.nan]])
    task = MultiFindingTask(model, x, y, x, y, 2, torch.device("cpu"))
    model.zero_grad()
    task.loss(task.load(np.arange(2)), torch.Generator().manual_seed(0)).backward()
    grad = model.classifier.weight.grad
    assert grad[0].abs().sum() > 0 and torch.equal(grad[1], torch.zeros_like(grad[1]))


def test_pretraining_learns_every_finding_and_its_trunk_starts_a_classifier(tmp_path):
    train_x, train_y = _films(160, 0)
    train_y[::2, 1] = np.nan  # half the films do not record finding b
    val_x, val_y = _films(40, 1)
    test_x, test_y = _films(60, 2)
    seed_everything(5)
    model, hist = pretrain(
        MultiOutputDenseNet(2),
        train_x,
        train_y,
        val_x,
        val_y,
        Recipe("adam", 1e-3, Budget(epochs=4, schedule="cosine"), 16, 5, tmp_path / "ck.pt"),
    )
    mean, aucs = mean_auc(test_y, predict_outputs(model, test_x, 32, "cpu"))
    assert min(aucs) > 0.9 and mean > 0.9
    assert hist.loc[hist["kept"], "val_mean_auc"].iloc[0] == hist["val_mean_auc"].max()
    save_checkpoint(model.state_dict(), tmp_path / "pretrain.pt")
    cnn = DenseNetClassifier()
    missing = load_state_dict_file(cnn, tmp_path / "pretrain.pt")
    assert missing == ["classifier.weight", "classifier.bias"]  # only the new head
    key = "features.denseblock3.denselayer5.conv1.weight"
    assert torch.equal(cnn.state_dict()[key], model.state_dict()[key])
