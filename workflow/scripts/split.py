"""Assign train / validate / test: the archive's official split or a seeded group split."""

import pandas as pd

from cxr_cbir.data.source_holdout import hold_out_sources
from cxr_cbir.data.splits import assign_splits
from cxr_cbir.io_utils import write_parquet
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
cfg = snakemake.params.split
df = assign_splits(
    pd.read_parquet(snakemake.input.manifest),
    cfg["method"],
    cfg.get("fractions") or {},
    snakemake.params.seed,
    cfg.get("stratify"),
)
held = snakemake.params.held_out
if held:  # whole sources kept out of the models, for the cross-source evaluation
    df = hold_out_sources(df, held["column"], held["held_out"])
log.info("split sizes: %s", df["split"].value_counts().to_dict())
write_parquet(df, snakemake.output[0])
