"""Report figures: nDCG box plots per method (paper Fig. 5) and top-k panels (Fig. 6)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from cxr_cbir.io_utils import atomic_path  # noqa: E402


def _save(fig, path: str) -> None:
    def _w(tmp: str) -> None:
        fig.savefig(tmp, format=str(path).rsplit(".", 1)[-1], dpi=110, bbox_inches="tight")

    atomic_path(path, _w)
    plt.close(fig)


def method_order(methods) -> list[str]:
    """Retrieval methods first (alphabetical), then raters, then the random baseline."""
    methods = sorted(set(methods))
    plain = [m for m in methods if not m.startswith("rater:") and m != "random"]
    raters = [m for m in methods if m.startswith("rater:")]
    return plain + raters + (["random"] if "random" in methods else [])


def ndcg_boxplot(ndcg: pd.DataFrame, path: str) -> None:
    conditions = sorted(ndcg["condition"].unique())
    ks = sorted(ndcg["k"].unique(), reverse=True)
    fig, axes = plt.subplots(
        len(conditions), len(ks), figsize=(4.2 * len(ks), 3.4 * len(conditions)), squeeze=False
    )
    for i, cond in enumerate(conditions):
        for j, k in enumerate(ks):
            ax = axes[i][j]
            sub = ndcg[(ndcg["condition"] == cond) & (ndcg["k"] == k)]
            order = method_order(sub["method"])
            data = [sub.loc[sub["method"] == m, "ndcg"].to_numpy() for m in order]
            ax.boxplot(data, showmeans=True)
            ax.set_xticks(range(1, len(order) + 1), order, rotation=35, ha="right")
            ax.set_ylim(0, 1.02)
            ax.set_title(f"{cond}: nDCG@{k} (n={len(data[0]) if data else 0} queries)")
            ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def topk_panel(
    condition: str,
    query_id: str,
    method_rankings: dict[str, pd.DataFrame],
    truth: pd.DataFrame,
    labels: dict[str, int],
    cache,
    k: int,
    path: str,
) -> None:
    """One row per method: the query, then its top-k with ground-truth rank and label."""
    gt_rank = truth[truth["query_id"] == query_id].set_index("image_id")["rank"]
    methods = method_order(method_rankings)
    fig, axes = plt.subplots(
        len(methods), k + 1, figsize=(1.9 * (k + 1), 2.4 * len(methods)), squeeze=False
    )
    for i, m in enumerate(methods):
        r = method_rankings[m]
        top = r[r["query_id"] == query_id].sort_values("rank")["image_id"].tolist()[:k]
        axes[i][0].imshow(cache.get(query_id), cmap="gray", vmin=0, vmax=255)
        axes[i][0].set_title(f"query (y={labels.get(query_id, '?')})", fontsize=8)
        axes[i][0].set_ylabel(m, fontsize=9)
        for j, img in enumerate(top, start=1):
            axes[i][j].imshow(cache.get(img), cmap="gray", vmin=0, vmax=255)
            axes[i][j].set_title(
                f"#{j}: GT rank {int(gt_rank[img])}, y={labels.get(img, '?')}", fontsize=8
            )
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"{condition}: top-{k} for query {query_id[:18]}", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def counts_figure(counts: pd.DataFrame, path: str) -> None:
    conditions = sorted(counts["condition"].unique())
    fig, axes = plt.subplots(1, len(conditions), figsize=(4 * len(conditions), 3), squeeze=False)
    for ax, cond in zip(axes[0], conditions, strict=True):
        sub = counts[counts["condition"] == cond].pivot_table(
            index="split", columns="label", values="n", fill_value=0
        )
        sub = sub.reindex([s for s in ("train", "validate", "test") if s in sub.index])
        x = np.arange(len(sub))
        for j, label in enumerate(sub.columns):
            ax.bar(x + 0.4 * j - 0.2, sub[label], width=0.4, label=f"label {label}")
        ax.set_xticks(x, sub.index)
        ax.set_title(cond)
        ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def segmentation_gallery(images, truth, pred, ens_dice: pd.DataFrame, path: str) -> None:
    """Best, median and worst held-out films by ensemble Dice: truth green, ensemble red."""
    order = ens_dice["dice"].to_numpy().argsort()
    picks = {"worst": order[0], "median": order[len(order) // 2], "best": order[-1]}
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.8))
    for ax, (name, j) in zip(axes, picks.items(), strict=True):
        ax.imshow(images[j], cmap="gray", vmin=0, vmax=255)
        ax.contour(truth[j].astype(float), [0.5], colors="lime", linewidths=1)
        ax.contour(pred[j].astype(float), [0.5], colors="red", linewidths=1)
        ax.set_title(
            f"{name}: Dice {ens_dice['dice'].iloc[j]:.3f}\n{ens_dice['image'].iloc[j][:28]}",
            fontsize=8,
        )
        ax.axis("off")
    fig.suptitle("held-out lungs: reference (green) vs ensemble (red)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def lung_mask_examples(before, masks, after, mode: str, path: str) -> None:
    """Cached films before (with the ensemble's lung outline) and after ``mode``."""
    n = len(before)
    fig, axes = plt.subplots(2, n, figsize=(2.0 * n, 4.4), squeeze=False)
    for j in range(n):
        axes[0][j].imshow(before[j], cmap="gray", vmin=0, vmax=255)
        m = np.asarray(masks[j], float)
        if m.shape != before[j].shape:
            m = np.asarray(
                Image.fromarray((m * 255).astype(np.uint8)).resize(before[j].shape[::-1])
            )
        axes[0][j].contour(m, [0.5 * m.max() if m.max() else 0.5], colors="red", linewidths=0.8)
        axes[1][j].imshow(after[j], cmap="gray", vmin=0, vmax=255)
        for ax in (axes[0][j], axes[1][j]):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0][0].set_ylabel("original + lungs", fontsize=8)
    axes[1][0].set_ylabel(mode, fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def saliency_gallery(images, maps, labels, method: str, path: str, n: int = 4) -> None:
    """Image, saliency map and overlay for positives and negatives of a condition."""
    labels = np.asarray(labels)
    picks = list(np.flatnonzero(labels == 1)[: n // 2]) + list(
        np.flatnonzero(labels == 0)[: n // 2]
    )
    fig, axes = plt.subplots(len(picks), 3, figsize=(6.6, 2.3 * len(picks)), squeeze=False)
    for row, j in enumerate(picks):
        m = np.asarray(maps[j], np.float32)
        axes[row][0].imshow(images[j], cmap="gray", vmin=0, vmax=255)
        axes[row][0].set_ylabel(f"y={labels[j]}", fontsize=9)
        axes[row][1].imshow(m, cmap="hot")
        axes[row][2].imshow(images[j], cmap="gray", vmin=0, vmax=255)
        axes[row][2].imshow(np.abs(m), cmap="jet", alpha=0.45)
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, title in zip(axes[0], ("image", method, "overlay"), strict=True):
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def learning_curves(history: pd.DataFrame, path: str) -> None:
    """Per family (a row): training loss and validation score per epoch, one line per model.

    ``history`` is the long table of ``cxr_cbir.training.history.combine`` (family, name,
    step, step_name, train_loss, score, score_name, kept); the circled point is the epoch
    kept by model selection.
    """
    families = list(dict.fromkeys(history["family"]))
    fig, axes = plt.subplots(len(families), 2, figsize=(10, 3.2 * len(families)), squeeze=False)
    for row, family in zip(axes, families, strict=True):
        part = history[history["family"] == family]
        for name, g in part.groupby("name", sort=False):
            row[0].plot(g["step"], g["train_loss"], marker=".", label=name)
            row[1].plot(g["step"], g["score"], marker=".", label=name)
            kept = g[g["kept"].astype(bool)]
            row[1].scatter(kept["step"], kept["score"], s=110, facecolors="none", edgecolors="k")
        row[0].set_title(f"{family}: training loss", fontsize=9)
        row[1].set_title(
            f"{family}: validation {part['score_name'].iloc[0]} (circled: kept)", fontsize=9
        )
        for ax in row:
            ax.set_xlabel(part["step_name"].iloc[0])
            ax.grid(alpha=0.3)
        row[1].legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def attention_gallery(images, masks, classes, path: str) -> None:
    """Test films with the metric model's spatial attention mask overlaid."""
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(2.0 * n, 4.3), squeeze=False)
    for j in range(n):
        axes[0][j].imshow(images[j], cmap="gray", vmin=0, vmax=255)
        axes[0][j].set_title(classes[j], fontsize=8)
        m = np.asarray(Image.fromarray(masks[j].astype(np.float32)).resize(images[j].shape[::-1]))
        axes[1][j].imshow(images[j], cmap="gray", vmin=0, vmax=255)
        axes[1][j].imshow(m, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        for ax in (axes[0][j], axes[1][j]):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[1][0].set_ylabel("attention", fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def roc_figure(curves: dict, summary: pd.DataFrame, path: str) -> None:
    """Mean ROC per feature set with a +-1 sd band (Zhong et al., Fig. 6)."""
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    auc = summary.set_index("features")
    for name, (grid, tprs) in curves.items():
        if len(tprs) == 0:
            continue
        mean, sd = tprs.mean(0), tprs.std(0)
        label = f"{name}: AUC {auc.loc[name, 'mean']:.2f} ± {auc.loc[name, 'sd']:.2f}"
        ax.plot(grid, mean, label=label)
        ax.fill_between(grid, np.clip(mean - sd, 0, 1), np.clip(mean + sd, 0, 1), alpha=0.15)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    _save(fig, path)
