"""The severity model (method sev): severity as a training target, masked per score,
fitted on training films only, and held-out agreement with intervals."""

import numpy as np
import pandas as pd
import pytest
import torch

from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.severity import agreement_table, long_predictions, pearson
from cxr_cbir.models.multi_output import MultiOutputDenseNet
from cxr_cbir.torch_utils import seed_everything
from cxr_cbir.training.engine import Budget
from cxr_cbir.training.multi_output import Recipe, predict_outputs
from cxr_cbir.training.severity import SeverityTask, train_severity
from cxr_cbir.training.targets import TargetScaler, target_matrix

SIZE = 32


def _films(n, seed):
    """Films whose severity is the height of an opaque band in the 'lungs' (its extent),
    under nuisance: random exposure and noise. Returns images (n, S, S) uint8, severity."""
    rng = np.random.default_rng(seed)
    sev = rng.uniform(0, 8, n)
    exposure = rng.uniform(40, 110, n)
    img = np.zeros((n, SIZE, SIZE), np.float32) + exposure[:, None, None]
    for i in range(n):
        rows = int(round(sev[i] / 8 * (SIZE - 8)))
        img[i, 4 : 4 + rows, 4 : SIZE - 4] += 110
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8), sev


def test_targets_mask_missing_scores_and_zero_negatives_only_when_asked():
    cohort = pd.DataFrame(
        {"label": [1, 0, 1], "geo": [3.0, np.nan, np.nan], "zone": [np.nan, np.nan, 2.0]}
    )
    plain = target_matrix(cohort, ["geo", "zone"], negatives_zero=False)
    assert np.isnan(plain[1]).all() and plain[0, 0] == 3 and np.isnan(plain[0, 1])
    zero = target_matrix(cohort, ["geo", "zone"], negatives_zero=True)
    assert zero[1].tolist() == [0.0, 0.0] and np.isnan(zero[2, 0])  # a positive stays unknown
    with pytest.raises(InputError, match=r"\['brixia'\] are not in the cohort"):
        target_matrix(cohort, ["geo", "brixia"], negatives_zero=False)


def test_loss_ignores_scores_a_film_lacks():
    seed_everything(0)
    model = MultiOutputDenseNet(n_outputs=2)
    x = np.zeros((2, SIZE, SIZE), np.uint8)
    z = np.array([[1.0, np.nan], [np.nan, np.nan]])
    task = SeverityTask(model, x, z, x, z, TargetScaler(z), 2, torch.device("cpu"))
    batch = task.load(np.arange(2))
    model.zero_grad()
    task.loss(batch, torch.Generator().manual_seed(0)).backward()
    grad = model.classifier.weight.grad
    assert grad[0].abs().sum() > 0  # the one known score trains its output
    assert torch.equal(grad[1], torch.zeros_like(grad[1]))  # the unknown score trains nothing


def test_severity_model_learns_extent_and_never_sees_test_scores(tmp_path):
    train_x, train_s = _films(160, 0)
    val_x, val_s = _films(40, 1)
    test_x, test_s = _films(60, 2)
    # a second target known for half the training films only (a zone score, say)
    second = np.where(np.arange(160) % 2 == 0, train_s / 2, np.nan)
    train_y = np.stack([train_s, second], 1)
    val_y = np.stack([val_s, np.full(40, np.nan)], 1)

    def run(name):
        seed_everything(3)
        model = MultiOutputDenseNet(n_outputs=2)
        before = predict_outputs(model, test_x, 32, "cpu")[:, 0]
        budget = Budget(epochs=6, patience=0, schedule="cosine")
        recipe = Recipe("adam", 1e-3, budget, 16, 3, tmp_path / name)
        model, hist, scaler = train_severity(model, train_x, train_y, val_x, val_y, recipe)
        return before, scaler.inverse(predict_outputs(model, test_x, 32, "cpu")), hist

    before, pred, hist = run("a.pt")
    assert abs(pearson(before, test_s)) < 0.5  # the untrained model does not read extent
    assert pearson(pred[:, 0], test_s) > 0.85
    assert np.mean(np.abs(pred[:, 0] - test_s)) < 1.2  # on a 0-8 scale, sd of the score 2.3
    assert hist["kept"].sum() == 1 and {"val_r", "val_mae"} <= set(hist.columns)
    assert hist.loc[hist["kept"], "val_r"].iloc[0] == hist["val_r"].max()


def test_calibration_removes_a_constant_offset_and_keeps_the_order():
    y_train = np.array([[0.0, 1.0], [4.0, np.nan], [8.0, 3.0]])
    scaler = TargetScaler(y_train)
    y = np.array([[1.0, 2.0], [3.0, np.nan], [6.0, 1.0], [7.0, np.nan]])
    # predictions 1.5 too high on the first target, right on the second (2 films only)
    z = scaler.forward(np.column_stack([y[:, 0] + 1.5, [2.5, 0.0, 0.5, 9.0]]))
    before = scaler.inverse(z)
    offsets = scaler.calibrate(z, y)
    assert offsets[0] == pytest.approx(-1.5)
    assert offsets[1] == 0.0  # fewer than 3 scored films: left alone
    after = scaler.inverse(z)
    assert after[:, 0] == pytest.approx(y[:, 0])
    assert after[:, 1] == pytest.approx(before[:, 1])
    # a median, not a mean: one outlying film does not move it
    outlier = TargetScaler(y_train)
    z2 = outlier.forward(np.column_stack([y[:, 0] + [1.5, 1.5, 1.5, 40.0], y[:, 1]]))
    assert outlier.calibrate(z2, y)[0] == pytest.approx(-1.5)


def test_too_few_scored_films_is_a_clear_error(tmp_path):
    x, s = _films(12, 0)
    y = np.stack([np.where(np.arange(12) < 5, s, np.nan)], 1)
    with pytest.raises(InputError, match="5 scored training films"):
        recipe = Recipe("adam", 1e-3, Budget(epochs=1), 4, 0, tmp_path / "c.pt")
        train_severity(MultiOutputDenseNet(), x, y, x, y, recipe)


def test_agreement_table_has_r_and_mae_with_patient_intervals():
    rng = np.random.default_rng(0)
    n = 120
    score = rng.uniform(0, 8, n)
    pred = score + rng.normal(0, 1.0, n)
    cohort = pd.DataFrame(
        {
            "image_id": [f"f{i}" for i in range(n)],
            "group": [f"p{i // 2}" for i in range(n)],  # two films a patient
            "split": np.where(np.arange(n) < 60, "train", "test"),
        }
    )
    table = long_predictions(cohort, cohort["image_id"], pred[:, None], ["geo"], score[:, None])
    out = agreement_table(table, "covid", "sev").set_index("split")
    assert list(out.index) == ["train", "test"] and out.loc["test", "films"] == 60
    test = table[table["split"] == "test"]
    assert out.loc["test", "pearson_r"] == pytest.approx(
        np.corrcoef(test.score, test.predicted)[0, 1]
    )
    assert out.loc["test", "mae"] == pytest.approx(np.mean(np.abs(test.score - test.predicted)))
    for stat, low, high in (("pearson_r", "r_low", "r_high"), ("mae", "mae_low", "mae_high")):
        assert out.loc["test", low] < out.loc["test", stat] < out.loc["test", high]
    assert 0.85 < out.loc["test", "pearson_r"] < 0.97
