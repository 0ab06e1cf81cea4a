"""A condition's cohort: label-filtered images that decoded, with their cache rows."""

import pandas as pd

from cxr_cbir.data.filters import check_classes
from cxr_cbir.io_utils import write_parquet
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
labels = pd.read_parquet(snakemake.input.labels)
index = pd.read_parquet(snakemake.input.index)
rejected = pd.read_csv(snakemake.input.rejected, dtype=str)
cohort = labels.merge(index, on="image_id", how="inner")
dropped = labels[~labels["image_id"].isin(index["image_id"])]
for r in dropped.itertuples():
    reason = rejected.loc[rejected["image_id"] == r.image_id, "reason"]
    log.warning("image %s left out: %s", r.image_id, reason.iloc[0] if len(reason) else "?")
log.info("cohort: %d images (%d unreadable left out)", len(cohort), len(dropped))
for warning in check_classes(cohort, snakemake.wildcards.condition, snakemake.params.label):
    log.warning("%s: %s", snakemake.wildcards.condition, warning)
write_parquet(cohort, snakemake.output[0])
