"""Predict the outcome (e.g. intubation) from image features, clinical fields, or both."""

import numpy as np
import pandas as pd

from cxr_cbir.data.filters import view_filter
from cxr_cbir.evaluation.prognosis import clinical_matrix, cross_validate
from cxr_cbir.io_utils import write_csv
from cxr_cbir.report.figures import roc_figure
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
cfg = snakemake.params.prognosis
df = view_filter(pd.read_parquet(snakemake.input.table), snakemake.params.views)
for column, value in (cfg.get("where") or {}).items():
    df = df[df[column].astype(str) == str(value)]
outcome = df[cfg["outcome"]].astype(str).str.strip()
df = df[outcome.isin([cfg["positive"], cfg["negative"]])]
emb = np.load(snakemake.input.dml)
row = {i: k for k, i in enumerate(emb["ids"].tolist())}
df = df[df["image_id"].isin(row)].reset_index(drop=True)
y = (df[cfg["outcome"]].astype(str).str.strip() == cfg["positive"]).to_numpy(int)
# folds grouped by the split group: patients and near-duplicate pictures together
groups = df["group"].astype(str).to_numpy()
image = emb["features"][[row[i] for i in df["image_id"]]].astype(np.float32)
clinical = clinical_matrix(df, cfg["fields"])
log.info(
    "%d films of %d patients, %d positive; clinical missing share per field: %s",
    len(df),
    len(np.unique(groups)),
    int(y.sum()),
    dict(zip(cfg["fields"], np.isnan(clinical).mean(0).round(2).tolist(), strict=True)),
)
sets = {"image": image, "image+clinical": np.hstack([image, clinical]), "clinical": clinical}
auc, curves, folds, oof = cross_validate(sets, y, groups, cfg["folds"], snakemake.params.seed)
for f, (tr, te) in enumerate(folds):
    assert not set(groups[tr]) & set(groups[te]), f"fold {f}: a group in train and test"
summary = auc.groupby("features")["auc"].agg(mean="mean", sd="std", n="count").reset_index()
log.info("\n%s", summary.to_string(index=False))
write_csv(auc.round(4), snakemake.output.auc)
write_csv(summary.round(4), snakemake.output.summary)
predictions = oof.assign(
    image_id=df["image_id"].to_numpy()[oof["row"]],
    group=groups[oof["row"]],
    y=y[oof["row"]],
)[["features", "fold", "image_id", "group", "y", "p"]]
write_csv(predictions, snakemake.output.predictions)
roc_figure(curves, summary, snakemake.output.roc)
