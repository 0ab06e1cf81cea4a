"""An auxiliary severity head for a retrieval network, used in training only.

A linear layer on the network's retrieval vector (``embed``: a classifier's penultimate
features, the dml model's L2-normalised embedding, the ce baseline's pooled features)
regresses the graded scores (standardised, masked where a film has none). Its loss, added
to the network's own, makes the vector the catalogues are ranked by carry the extent of
disease as well as its presence. The head is dropped after training: the saved model is
the network alone. Shared by the classifiers (CNN, IG, ATT) and the metric models.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from cxr_cbir.evaluation.severity import pearson
from cxr_cbir.models.inputs import prepare
from cxr_cbir.training.targets import TargetScaler, target_matrix

log = logging.getLogger(__name__)


@dataclass
class SeverityAux:
    """The auxiliary severity target of a network: (N, K) graded scores of the training
    and validation films (column 0 the catalogues' graded score; NaN where a film has
    none) and the weight of its loss against the network's own."""

    train_scores: np.ndarray
    val_scores: np.ndarray
    weight: float

    @classmethod
    def from_films(cls, train: pd.DataFrame, val: pd.DataFrame, spec: dict) -> SeverityAux | None:
        """The target of a job's ``spec`` (``weight``; with a weight above 0 also
        ``targets`` and ``negatives_zero``) on its training and validation films; None
        for weight 0."""
        if not spec["weight"]:
            return None
        scores = [target_matrix(d, spec["targets"], spec["negatives_zero"]) for d in (train, val)]
        aux = cls(*scores, spec["weight"])
        log.info(
            "auxiliary severity head (weight %s): %s, %d scored training films",
            spec["weight"],
            spec["targets"],
            int(np.isfinite(aux.train_scores).any(axis=1).sum()),
        )
        return aux

    @property
    def fingerprint(self) -> str:
        """What a resume checkpoint of a network trained with this head must match."""
        return f"|severity={self.weight}x{self.train_scores.shape[1]}"

    def standardised(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, K) float32 standardised training scores (0 where missing) and their mask."""
        z = TargetScaler(self.train_scores).forward(self.train_scores)
        scores = torch.from_numpy(np.nan_to_num(z, nan=0.0).astype(np.float32))
        return scores, torch.from_numpy(np.isfinite(z).astype(np.float32))


class SeverityHeaded(nn.Module):
    """A network with a linear severity head on its ``embed`` output, for training only;
    ``forward`` is the network's own. A network with a ``classifier`` applies it to the
    embedding (the classifiers, the ce baseline); one without returns the embedding."""

    def __init__(self, net: nn.Module, n_outputs: int) -> None:
        super().__init__()
        self.net = net
        self.severity = nn.Linear(net.embedding_dim, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the network's own output, standardised severity scores (N, K))."""
        e = self.net.embed(x)
        classifier = getattr(self.net, "classifier", None)
        return (classifier(e) if classifier is not None else e), self.severity(e)


def attach_head(net: nn.Module, severity: SeverityAux | None):
    """(the network to train, the severity target or None): the network wrapped in a
    ``SeverityHeaded`` when the target's weight is above 0, else as it is."""
    if severity is None or severity.weight <= 0:
        return net, None
    return SeverityHeaded(net, severity.train_scores.shape[1]), severity


def detach_head(model: nn.Module) -> nn.Module:
    """The trained network without its severity head (the network itself if it has none)."""
    return model.net if isinstance(model, SeverityHeaded) else model


def head_r(model: SeverityHeaded, images: np.ndarray, scores: np.ndarray, batch_size: int, device):
    """Pearson r of the head's graded score (column 0) with the films' own, over the films
    scored on it (NaN with fewer than 3)."""
    y = scores[:, 0]
    ok = np.flatnonzero(np.isfinite(y))
    if len(ok) < 3:
        return float("nan")
    was_training = model.training
    model.eval()
    pred = []
    with torch.inference_mode():
        for i in range(0, len(ok), batch_size):
            batch = prepare(torch.from_numpy(np.array(images[ok[i : i + batch_size]])))
            pred.append(model.outputs(batch.to(device))[1][:, 0].float().cpu().numpy())
    model.train(was_training)
    return pearson(np.concatenate(pred), y[ok])
