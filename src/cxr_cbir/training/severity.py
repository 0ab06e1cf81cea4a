"""Train a DenseNet-121 to read the *extent* of disease: severity as a training target.

The classifiers learn whether a film shows the condition; the graded catalogues ask how
much of it. A ridge on frozen classifier features (``cnn_sev``) read the severity score
at r 0.51-0.56 on real held-out films, where nDCG@10 0.80 needs r ~0.82 (the severity
ceiling). This model is trained on the scores themselves: one output per severity
target (COVID-Net geographic extent and opacity, the BrixIA zone scores, ...), a
masked mean squared error on standardised targets, so a film contributes every score it
has and none it lacks (BS-Net's zone supervision: each BrixIA zone is its own output).
It is fitted on the scored training films only; the kept epoch is the one whose
prediction of the *primary* target (the score the condition's catalogues are graded
by) correlates best with it on the scored validation films. Test films are never seen.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.severity import pearson
from cxr_cbir.models.inputs import prepare
from cxr_cbir.training.augment import paper_affine
from cxr_cbir.training.engine import to_device
from cxr_cbir.training.multi_output import MaskedTargets, Recipe, fit_task, predict_outputs
from cxr_cbir.training.targets import TargetScaler, masked_mse

log = logging.getLogger(__name__)

MIN_FILMS = 10


class SeverityTask(MaskedTargets):
    """Masked MSE on standardised targets; validation r and MAE of the primary target."""

    def __init__(
        self, model, train_x, train_z, val_x, val_y, scaler, batch_size, device, workers=0
    ):
        super().__init__(model, train_x, train_z, batch_size, device, workers)
        self.val_x, self.val_y, self.scaler = val_x, val_y, scaler

    def loss(self, batch, generator):
        x, z, m = to_device(batch, self.device)
        x = paper_affine(prepare(x), generator)
        pred = self.model(x).float()
        return masked_mse(pred, z, m)

    def validate(self):
        z = predict_outputs(self.model, self.val_x, self.batch_size, self.device)
        pred = self.scaler.inverse(z)[:, 0]
        y = self.val_y[:, 0]
        ok = np.isfinite(y)
        return {
            "r": pearson(pred[ok], y[ok]),
            "mae": float(np.mean(np.abs(pred[ok] - y[ok]))) if ok.any() else float("nan"),
        }


def train_severity(
    model: torch.nn.Module,
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    recipe: Recipe,
) -> tuple[torch.nn.Module, pd.DataFrame, TargetScaler]:
    """The model at its best validation r (primary target), its history and target scaler
    (its offsets calibrated on the scored validation films: ``TargetScaler.calibrate``).

    ``train_y`` / ``val_y`` are (N, K) scores with NaN where unknown; training films
    without any score and validation films without the primary score are left out.
    """
    keep = np.isfinite(train_y).any(axis=1)
    train_x, train_y = train_x[keep], train_y[keep]
    vkeep = np.isfinite(val_y[:, 0])
    val_x, val_y = val_x[vkeep], val_y[vkeep]
    if len(train_y) < MIN_FILMS or len(val_y) < 3:
        raise InputError(
            f"severity model: {len(train_y)} scored training films and {len(val_y)} scored "
            f"validation films; at least {MIN_FILMS} and 3 are needed"
        )
    scaler = TargetScaler(train_y)
    device = torch.device(recipe.device)
    model = model.to(device).to(memory_format=torch.channels_last)
    task = SeverityTask(
        model, train_x, scaler.forward(train_y), val_x, val_y, scaler, recipe.batch_size,
        device, recipe.workers,
    )  # fmt: skip
    fingerprint = f"severity|{getattr(model, 'n_outputs', 1)}|{len(train_x)}"
    model, history = fit_task(task, recipe, "r", "severity epoch", fingerprint)
    # MAE: the kept epoch's offset corrected on the scored validation films
    offsets = scaler.calibrate(predict_outputs(model, val_x, recipe.batch_size, device), val_y)
    log.info("offsets from the validation films (added to the predictions): %s", offsets)
    return model, history, scaler
