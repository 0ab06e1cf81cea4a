"""One long table of every training history, for the learning-curve figure and the report.

Each family's trainer writes its own ``history.csv`` (classifiers per condition and
model, metric models, segmentation members, severity models, pretraining); ``combine``
puts them in one frame with the step (epoch or iteration), the training loss, the
monitored validation score and the kept flag, so that one figure shows whether every
model reached its plateau.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["family", "name", "step", "step_name", "train_loss", "score", "score_name", "kept"]

# family -> (step column, monitored validation column); a history with a ``monitor``
# column (the metric models') names its own
MONITORED = {
    "classifier": ("epoch", "val_auc"),
    "metric": ("iteration", "val_recall_at_1"),
    "segmentation": ("epoch", "val_dice"),
    "severity": ("epoch", "val_r"),
    "pretrain": ("epoch", "val_mean_auc"),
}


def family_frame(family: str, name: str, history: pd.DataFrame) -> pd.DataFrame:
    step, score = MONITORED[family]
    if "monitor" in history.columns and len(history):
        score = f"val_{history['monitor'].iloc[0]}"
    return pd.DataFrame(
        {
            "family": family,
            "name": name,
            "step": history[step].astype(int),
            "step_name": step,
            "train_loss": history["train_loss"],
            "score": history[score],
            "score_name": score.removeprefix("val_"),
            "kept": history["kept"].astype(bool),
        }
    )[COLUMNS]


def combine(histories: list[tuple[str, str, pd.DataFrame]]) -> pd.DataFrame:
    """[(family, name, history)] -> the long table (rows in the given order)."""
    if not histories:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat([family_frame(*h) for h in histories], ignore_index=True)
