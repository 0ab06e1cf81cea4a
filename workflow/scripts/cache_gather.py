"""Gather the shards into one cache array; list and count unreadable images."""

import pandas as pd

from cxr_cbir.preprocess.cache import gather_shards
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
n_total = len(pd.read_parquet(snakemake.input.images))
index = gather_shards(
    list(snakemake.input.npz),
    list(snakemake.input.rejected),
    n_total,
    snakemake.output.images,
    snakemake.output.index,
    snakemake.output.rejected,
    snakemake.params.max_bad_fraction,
)
log.info("cached %d of %d images", len(index), n_total)
