"""Dice per held-out image for every member and the ensemble; summary, Dice per source
(with intervals; ensemble - best member per source) and gallery."""

import numpy as np
import pandas as pd

from cxr_cbir.evaluation.dice_by_source import dice_by_source, source_summary
from cxr_cbir.io_utils import write_csv
from cxr_cbir.report.figures import segmentation_gallery
from cxr_cbir.run import runlog
from cxr_cbir.segmentation.ensemble import read_weights
from cxr_cbir.segmentation.postprocess import clean_mask, dice, ensemble_mask

log = runlog.setup(snakemake.log[0])
pairs = pd.read_parquet(snakemake.input.table)
arrays = np.load(snakemake.input.arrays)
hold = (pairs["split"] == "holdout").to_numpy()
ids = pairs.loc[hold, "pair_id"].tolist()
images, truth = arrays["images"][hold], arrays["masks"][hold].astype(bool)
probs = np.stack([np.load(p)["holdout"].astype(np.float32) for p in snakemake.input.probs])
weights = read_weights(snakemake.input.ensemble, list(snakemake.params.members))
thr = snakemake.params.threshold
rows, ens_masks = [], []
for j, image_id in enumerate(ids):
    for m, member in enumerate(snakemake.params.members):
        rows.append((member, image_id, dice(clean_mask(probs[m, j] >= thr), truth[j])))
    ens = ensemble_mask(probs[:, j], thr, weights)
    ens_masks.append(ens)
    rows.append(("ensemble", image_id, dice(ens, truth[j])))
table = pd.DataFrame(rows, columns=["member", "image", "dice"])
datasets = dict(zip(pairs["pair_id"], pairs["dataset"], strict=True))
summary = (
    table.assign(dataset=table["image"].map(datasets))
    .groupby("member")["dice"]
    .agg(mean="mean", median="median", sd="std", min="min", n="count")
    .reset_index()
    .sort_values("mean", ascending=False)
)
log.info("\n%s", summary.to_string(index=False))
write_csv(table, snakemake.output.dice)
write_csv(summary.round(4), snakemake.output.summary)
by_source = dice_by_source(table, pairs)
per_source = source_summary(by_source, pairs, seed=snakemake.params.seed)
log.info("per source:\n%s", per_source.to_string(index=False))
write_csv(by_source, snakemake.output.by_source)
write_csv(per_source.round(4), snakemake.output.source_summary)
ens_dice = table[table["member"] == "ensemble"].reset_index(drop=True)
segmentation_gallery(images, truth, np.stack(ens_masks), ens_dice, snakemake.output.gallery)
