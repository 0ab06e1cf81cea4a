"""Decode and resize one shard of the images (scatter step)."""

import pandas as pd

from cxr_cbir.preprocess.cache import build_shard, shard_rows
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
images = shard_rows(
    pd.read_parquet(snakemake.input.images),
    int(snakemake.wildcards.shard),
    snakemake.params.n_shards,
)
log.info("shard %s: %d images", snakemake.wildcards.shard, len(images))
build_shard(
    images,
    snakemake.params.root,
    snakemake.params.size,
    snakemake.output.npz,
    snakemake.output.rejected,
    snakemake.params.intensity,
)
